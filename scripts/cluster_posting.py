"""The cluster drill's load: camera posts retried as a camera retries them, officer searches, and the counts.

Posts go over bench/httpload.py's keep-alive connections (httpx is too slow a load generator here); a post
answered 503 or 429, or whose connection failed or timed out, is sent again with the same read ids.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import nats
from hostile_probes import search_body
from nats.errors import Error as NatsError

from bench.httpload import Connection
from services.cli.cluster.running import RunningCluster

CONCURRENCY = 8
SINGLE_SHARE = 0.1  # of the reads, posted one per request; the rest in batches of 1 to 1,000
MAX_BATCH = 1000
RETRY_STATUSES = {429, 502, 503, 504}
POST_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 300.0  # a killed replica's unacknowledged batch comes back after ack_wait (30 s)


def make_bodies(total: int, tag: str, now: datetime, rng: random.Random) -> list[tuple[int, Any]]:
    """(reads in it, body) for every post: `total` reads with unique read ids and plates, singles among batches."""
    stamp = now.isoformat()

    def read(i: int) -> dict[str, Any]:
        return {
            "plate": f"C{tag}{i:06d}",
            "captured_at": stamp,
            "read_id": f"{tag}-{i}",
            "confidence": 0.9,
            "latitude": 37.3,
            "longitude": -121.9,
        }

    singles = int(total * SINGLE_SHARE)
    bodies: list[tuple[int, Any]] = [(1, read(i)) for i in range(singles)]
    i = singles
    while i < total:
        size = min(rng.randint(1, MAX_BATCH), total - i)
        bodies.append((size, {"reads": [read(j) for j in range(i, i + size)]}))
        i += size
    rng.shuffle(bodies)
    return bodies


def _index_after(bodies: list[tuple[int, Any]], share: float) -> int:
    """The first body past `share` of the reads: the gates fall by reads sent, not by posts."""
    target, total = share * sum(n for n, _ in bodies), 0
    for index, (reads, _) in enumerate(bodies):
        total += reads
        if total >= target:
            return index + 1
    return len(bodies)


@dataclass
class Gate:
    """A point in the posting that waits for the drill: `arrived` when reached, posts go on after `released`."""

    index: int
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)


class Poster:
    """Sends every body through the gateway, each until it is answered 202."""

    def __init__(self, url: str, camera: str, bodies: list[tuple[int, Any]], *, gates: tuple[float, ...]) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {camera}"}
        self.bodies = bodies
        self.gates = [Gate(_index_after(bodies, share)) for share in gates]
        self.tally: Counter[str] = Counter()
        self.sent_reads = 0
        self._next = 0

    async def reached(self, gate: Gate) -> None:
        await gate.arrived.wait()

    def release(self, gate: Gate) -> None:
        gate.released.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(CONCURRENCY)))

    async def _worker(self) -> None:
        conn: Connection | None = None
        while self._next < len(self.bodies):
            index = self._next
            self._next += 1
            for gate in self.gates:
                if index >= gate.index:
                    gate.arrived.set()
                    await gate.released.wait()
            conn = await self._send(conn, *self.bodies[index])
        if conn is not None:
            conn.close()

    async def _send(self, conn: Connection | None, reads: int, body: Any) -> Connection | None:
        while True:
            conn = conn or Connection(self.host, self.port)
            try:
                status, reply = await asyncio.wait_for(conn.post_json("/v1/reads", body, self.headers), POST_TIMEOUT_S)
            except (OSError, EOFError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError):
                # refused, reset, closed or silent: the camera cannot know whether it landed, so it sends again
                self.tally["connection_failed"] += 1
                conn.close()
                conn = None
                await asyncio.sleep(0.2)
                continue
            if status == 202:
                self.tally["202"] += 1
                self.tally["rejected"] += len(reply.get("rejected", []))
                self.tally["duplicates"] += int(reply.get("duplicates", 0))
                self.sent_reads += reads
                return conn
            if status not in RETRY_STATUSES:
                raise RuntimeError(f"the gateway answered {status}: {str(reply)[:300]}")
            self.tally[str(status)] += 1
            await asyncio.sleep(0.3)


async def officer_searches(url: str, token: str, tag: str, stop: asyncio.Event) -> Counter[str]:
    """Searches for one of the drill's plates, about two a second (the person rate is 120 a minute)."""
    outcomes: Counter[str] = Counter()
    body = search_body(f"C{tag}000001")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while not stop.is_set():
            try:
                outcomes[str((await http.post("/v1/searches", json=body, headers=headers)).status_code)] += 1
            except httpx.HTTPError:
                outcomes["connection_failed"] += 1
            await asyncio.sleep(0.5)
    return outcomes


async def stored_counts(dsn: str, tag: str) -> tuple[int, int, int]:
    """Rows of the drill's reads, distinct read ids among them, distinct plates (each read has its own)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT read_id), count(DISTINCT plate) FROM records.reads WHERE plate LIKE $1",
            f"C{tag}%",
        )
        return int(row[0]), int(row[1]), int(row[2])
    finally:
        await conn.close()


async def drained(cluster: RunningCluster, *, expected: int, tag: str, say: Callable[[str], None]) -> None:
    """Until the records and audit consumers have nothing pending or unacknowledged (or the time is up)."""
    nc = await nats.connect(servers=cluster.nats_urls)
    js = nc.jetstream()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    last_said = 0.0
    try:
        while time.monotonic() < deadline:
            try:
                waiting = 0
                for stream, durable in (("READS", "records-reads"), ("AUDIT", "audit-writer")):
                    info = await js.consumer_info(stream, durable, timeout=5)
                    waiting += info.num_pending + info.num_ack_pending
            except (NatsError, TimeoutError):  # a restarted server catching up: ask again
                await asyncio.sleep(1)
                continue
            _, _, stored = await stored_counts(cluster.admin_dsn, tag)
            if waiting == 0:
                say(f"consumers drained: {stored} of {expected} reads stored")
                return
            if time.monotonic() - last_said > 10:
                say(f"draining: {waiting} messages pending or unacknowledged, {stored} of {expected} reads stored")
                last_said = time.monotonic()
            await asyncio.sleep(1)
        say("the consumers did not drain in time")
    finally:
        await nc.close()
