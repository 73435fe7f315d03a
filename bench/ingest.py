"""Ingest throughput and latency through HTTP against `alpr up`, counted as rows committed in PostgreSQL.

Prints: batch posts reads/s, single-read posts reads/s, p50/p99 post→committed at a fixed rate,
and the services' memory over the run. Usage: python bench/ingest.py [--seconds 20] [--rate 1000] [--cameras N]

With `--cameras N` the single-read posts come from N cameras in turn (the development camera and N-1 more
registered for the run), so no one camera is held to its own rate limit; batch posts stay on the first.

Post→committed is timed from when the post was due to when a poll of `records.reads` every few
milliseconds first sees the row (an upper bound, by at most a poll); the row's `received_at` (`now()`:
its transaction's start, before the commit) gives a lower bound, printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.httpload import Connection
from bench.system import RunningSystem
from services.cli.seed import DEV_CAMERA
from services.gateway.service import new_camera_credential


def reads(n: int, tag: str) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "plate": f"{tag}{i:07d}",
            "captured_at": now,
            "read_id": f"{tag}-{i}",
            "confidence": 0.9,
            "latitude": 37.3,
            "longitude": -121.9,
        }
        for i in range(n)
    ]


async def count_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM records.reads"))
    finally:
        await conn.close()


async def wait_for_rows(dsn: str, target: int, timeout: float = 120) -> float:
    start = time.monotonic()
    while await count_rows(dsn) < target:
        if time.monotonic() - start > timeout:
            raise RuntimeError(f"only {await count_rows(dsn)} of {target} rows committed")
        await asyncio.sleep(0.05)
    return time.monotonic()


async def register_cameras(dsn: str, count: int) -> list[str]:
    """Credentials of `count` more cameras of the development camera's agency, registered as `alpr up`'s seed
    registers that one (a row of gateway.cameras with a hash of the secret): bench-cam-2, bench-cam-3, …"""
    if count < 1:
        return []
    conn = await asyncpg.connect(dsn)
    credentials = []
    try:
        for n in range(2, count + 2):
            credential, credential_id, secret_hash = new_camera_credential(f"bench-cam-{n}")
            await conn.execute(
                "INSERT INTO gateway.cameras (camera_id, agency, vendor, name, model, latitude, longitude, heading, "
                "credential_id, credential_hash) SELECT $1, agency, vendor, $1, model, latitude, longitude, heading, "
                "$2, $3 FROM gateway.cameras WHERE camera_id = $4",
                f"bench-cam-{n}",
                credential_id,
                secret_hash,
                DEV_CAMERA,
            )
            credentials.append(credential)
    finally:
        await conn.close()
    return credentials


def camera_headers(credentials: list[str]) -> list[dict]:
    """Each camera's request headers, in the order posts take them in turn."""
    return [{"Authorization": f"Bearer {credential}"} for credential in credentials]


async def drive(port: int, headers: dict | list[dict], bodies, concurrency: int) -> tuple[int, dict[int, int]]:
    """Post every body, each until answered 202; the reads accepted and the other answers by status.

    Given several cameras' headers, each connection posts as one of them in turn (connection i as camera
    i mod N), as N cameras each with their own connections would."""
    cameras = headers if isinstance(headers, list) else [headers]
    queue: asyncio.Queue = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    sent = 0
    refused: dict[int, int] = {}  # the CPU figures include answering these: say how many there were

    async def worker(index: int) -> None:
        nonlocal sent
        headers = cameras[index % len(cameras)]
        conn = Connection("127.0.0.1", port)
        try:
            while not queue.empty():
                body = queue.get_nowait()
                for _ in range(20):  # a camera retries on 503 and 429
                    status, reply = await conn.post_json("/v1/reads", body, headers)
                    if status == 202:
                        sent += reply["accepted"]
                        break
                    refused[status] = refused.get(status, 0) + 1
                    await asyncio.sleep(0.1)
        finally:
            conn.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return sent, refused


async def throughput(
    system: RunningSystem, headers: dict | list[dict], *, batch: int, total: int, concurrency: int
) -> float:
    before = await count_rows(system.admin_dsn)
    tag = uuid.uuid4().hex[:3].upper()
    all_reads = reads(total, tag)
    bodies = [{"reads": all_reads[i : i + batch]} if batch > 1 else all_reads[i] for i in range(0, total, batch)]
    start = time.monotonic()
    _, refused = await drive(system.port, headers, bodies, concurrency)
    posted = time.monotonic()
    done = await wait_for_rows(system.admin_dsn, before + total)
    print(f"  posting took {posted - start:.1f}s, then {done - posted:.1f}s until all committed")
    answers = ", ".join(f"{n:,} answered {status}" for status, n in sorted(refused.items()))
    print(f"  posts sent again after {answers}" if answers else "  every post accepted at the first try")
    return total / (done - start)


POLL_S = 0.005  # how often the bench looks for the rows still to commit: the resolution of post→committed


class CommitWatch:
    """Sees each posted read's row once committed: polls for the plates still outstanding, by its index."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.seen: dict[str, float] = {}  # plate → wall time of the first poll that returned its row
        self.polls: list[float] = []  # each poll's round trip: what the figure may overstate by, beyond POLL_S
        self.stopping = False

    async def run(self, posted: dict[str, float]) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while (outstanding := [p for p in list(posted) if p not in self.seen]) or not self.stopping:
                if outstanding:
                    sent = time.time()
                    rows = await conn.fetch("SELECT plate FROM records.reads WHERE plate = ANY($1)", outstanding)
                    now = time.time()  # the rows were committed before this
                    self.polls.append(now - sent)
                    self.seen.update((r["plate"], now) for r in rows)
                await asyncio.sleep(POLL_S)
        finally:
            await conn.close()


async def latency(
    system: RunningSystem, headers: dict | list[dict], *, rate: int, seconds: int
) -> tuple[list[float], list[float]]:
    """Post single reads at a fixed rate: post due → row seen committed, and post due → its transaction began.

    Given several cameras' headers, post i goes as camera i mod N."""
    cameras = headers if isinstance(headers, list) else [headers]
    conn = await asyncpg.connect(system.admin_dsn)
    tag = uuid.uuid4().hex[:3].upper()
    posted: dict[str, float] = {}
    refused: dict[int, int] = {}  # answers other than 202, by status: a 429 is a read the camera must send again
    watch = CommitWatch(system.admin_dsn)
    watching = asyncio.create_task(watch.run(posted))
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(200):
        pool.put_nowait(Connection("127.0.0.1", system.port))

    async def one(i: int, due: float) -> None:
        body = {**reads(1, tag)[0], "plate": f"{tag}{i:07d}", "read_id": f"lat-{tag}-{i}"}
        # timed from when the post was due, not from when a connection was free: a sender falling behind
        # the offered rate counts against the figure (the first version of this bench hid that)
        posted[body["plate"]] = due
        conn_ = await pool.get()
        try:
            status, _ = await conn_.post_json("/v1/reads", body, cameras[i % len(cameras)])
        finally:
            pool.put_nowait(conn_)
        if status != 202:
            posted.pop(body["plate"], None)
            refused[status] = refused.get(status, 0) + 1

    tasks = []
    start, wall = time.monotonic(), time.time()
    for i in range(rate * seconds):
        tasks.append(asyncio.create_task(one(i, wall + i / rate)))
        await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
    await asyncio.gather(*tasks)
    took = time.monotonic() - start
    print(f"  {rate * seconds:,} single posts in {took:.1f} s ({rate * seconds / took:,.0f}/s, offered {rate:,}/s)")
    answers = ", ".join(f"{n:,} answered {status}" for status, n in sorted(refused.items())) or "none refused"
    print(f"  {len(posted):,} accepted (202); {answers}")
    while not pool.empty():
        pool.get_nowait().close()
    watch.stopping = True
    try:
        await asyncio.wait_for(watching, timeout=60)
    except TimeoutError:
        print(f"  {len(posted) - len(watch.seen)} of {len(posted)} accepted reads not committed a minute later")
    rows = await conn.fetch(
        "SELECT plate, extract(epoch FROM received_at) AS t FROM records.reads WHERE plate = ANY($1)", list(posted)
    )
    await conn.close()
    committed = sorted(watch.seen[p] - due for p, due in posted.items() if p in watch.seen)
    if watch.polls:
        print(f"  a poll for committed rows took {sum(watch.polls) / len(watch.polls) * 1000:.1f} ms on average")
    return committed, sorted(float(r["t"]) - posted[r["plate"]] for r in rows)


def _pct(sorted_seconds: list[float], pct: int) -> str:
    """A percentile of sorted seconds, in whole milliseconds."""
    return f"{sorted_seconds[max(0, int(len(sorted_seconds) * pct / 100) - 1)] * 1000:,.0f}"


class CpuShare:
    """CPU per read of each process over a phase: where a read's cost goes, and what the bench itself takes."""

    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.before = self._now()

    def _now(self) -> dict[str, float]:
        own = psutil.Process().cpu_times()
        return {**self.system.cpu_seconds(), "bench client": own.user + own.system}

    def report(self, reads: int) -> None:
        after = self._now()
        spent = {name: after[name] - self.before.get(name, 0.0) for name in after}
        parts = ", ".join(
            f"{name} {spent[name] / reads * 1e6:,.0f}" for name in sorted(spent, key=spent.__getitem__)[::-1]
        )
        system_us = sum(v for k, v in spent.items() if k != "bench client") / reads * 1e6
        print(f"  CPU µs per read: {parts} (services and stores together {system_us:,.0f})")
        self.before = after


async def main(args: argparse.Namespace) -> None:
    system = RunningSystem(gateway_workers=args.gateway_workers)
    system.start()
    print(f"alpr up --gateway-workers {args.gateway_workers}")
    try:
        headers = {"Authorization": f"Bearer {system.credential('camera')}"}
        singles = [headers, *camera_headers(await register_cameras(system.admin_dsn, args.cameras - 1))]
        if args.cameras > 1:
            print(f"single-read posts from {args.cameras} cameras in turn")
        rss_start = system.service_rss_mib()
        cpu = CpuShare(system)
        batch_rate = await throughput(system, headers, batch=1000, total=args.batch_reads, concurrency=8)
        cpu.report(args.batch_reads)
        print(f"batch posts (1,000 reads each): {batch_rate:,.0f} reads/s committed ({args.batch_reads:,} reads)")
        cpu = CpuShare(system)
        single_rate = await throughput(
            system, singles, batch=1, total=args.single_reads, concurrency=args.single_connections
        )
        cpu.report(args.single_reads)
        print(
            f"single-read posts: {single_rate:,.0f} reads/s committed ({args.single_reads:,} reads, "
            f"{args.single_connections} camera connections)"
        )
        samples: list[dict[str, float]] = []

        async def sample_memory() -> None:  # each service's RSS once a minute over the fixed-rate phase
            while True:
                samples.append(system.service_rss_mib())
                await asyncio.sleep(60)

        sampler = asyncio.create_task(sample_memory())
        lat, began = await latency(system, singles, rate=args.rate, seconds=args.seconds)
        sampler.cancel()
        samples.append(system.service_rss_mib())
        if len(samples) > 2:
            for name in sorted(samples[-1]):
                series = " ".join(f"{s.get(name, 0):.0f}" for s in samples)
                print(f"rss {name} each minute of the fixed-rate phase (MiB): {series}")
        if lat:
            print(
                f"at {args.rate} reads/s for {args.seconds}s: post→committed p50 {_pct(lat, 50)} ms, "
                f"p99 {_pct(lat, 99)} ms, max {_pct(lat, 100)} ms ({len(lat)} reads; seen by a {POLL_S * 1000:.0f} ms "
                f"poll); post→transaction began (received_at) p50 {_pct(began, 50)} ms, p99 {_pct(began, 99)} ms"
            )
        rss_end = system.service_rss_mib()
        for name in sorted(rss_end):
            print(f"rss {name}: {rss_start.get(name, 0):.0f} MiB → {rss_end[name]:.0f} MiB")
    finally:
        system.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-reads", type=int, default=100_000)
    parser.add_argument("--single-reads", type=int, default=10_000)
    # each camera keeps its own connection and waits for each answer: with too few connections the figure
    # measures the bench's concurrency (but 200 measured lower than 64: more connections, more work each)
    parser.add_argument("--single-connections", type=int, default=64)
    # one gateway process tops out near 2,100 single-read posts/s here while a fifth of the two cores idles:
    # it is one thread; a second worker (a second replica, in Kubernetes) uses them
    parser.add_argument("--gateway-workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=20)
    # one camera is held to its own rate (2,000 posts/s here): at that rate it is answered a few 429s
    parser.add_argument("--cameras", type=int, default=1, help="cameras the single-read posts come from in turn")
    arguments = parser.parse_args()
    if arguments.cameras < 1:
        parser.error("--cameras is at least 1")
    asyncio.run(main(arguments))
