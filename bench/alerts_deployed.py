"""Alert latency against `alpr up`: each service its own process, as deployed; camera post → alert on ALERTS.

bench/alerts_latency.py runs the services inside one process and one event loop, which caps it near
300 posts a second; this one runs them as `alpr up` does. It loads N active entries straight into
PostgreSQL, waits until records has taken them into its index (a listed plate raises an alert), then
posts single reads at a steady rate over `--connections` keep-alive connections (one read in
`--hit-every` is listed) and prints p50/p99 from when each post was due to the alert's arrival.

Run: `python bench/alerts_deployed.py [--entries 1000000] [--rate 1000] [--seconds 20] [--hit-every 50]`
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nats
from nats.js.api import DeliverPolicy

from bench.alerts_latency import load_entries, plate
from bench.httpload import Connection
from bench.system import RunningSystem
from libs.common.contracts.alerts import AlertMessage
from libs.common.streams import AGENCY_ALERTS


def nats_url(system: RunningSystem) -> str:
    for line in system.output:
        if m := re.search(r"NATS :(\d+)", line):
            return f"nats://127.0.0.1:{m.group(1)}"
    raise RuntimeError("alpr up did not say where NATS listens")


async def run(system: RunningSystem, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    started = time.perf_counter()
    listed = await load_entries(system.admin_dsn, args.entries, rng)
    print(f"entries: {args.entries:,} loaded into PostgreSQL in {time.perf_counter() - started:.1f} s")
    headers = {"Authorization": f"Bearer {system.credential('camera')}"}
    arrived: dict[str, float] = {}
    nc = await nats.connect(nats_url(system))

    async def on_alert(msg: Any) -> None:
        arrived[AlertMessage.model_validate_json(msg.data).read_id] = time.perf_counter()

    alerts = nc.jetstream()
    await alerts.subscribe(AGENCY_ALERTS.pattern, cb=on_alert, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    pool.put_nowait(Connection("127.0.0.1", system.port))

    async def post(body: dict[str, Any]) -> list[str]:
        conn = await pool.get()
        try:
            status, reply = await conn.post_json("/v1/reads", body, headers)
        finally:
            pool.put_nowait(conn)
        return list(reply["read_ids"]) if status == 202 else []

    def read(text: str) -> dict[str, Any]:
        return {"plate": text, "state": "CA", "captured_at": datetime.now(UTC).isoformat(), "confidence": 0.9}

    # records takes the entries in through its follower; the first alert on a listed plate says it has them
    began = time.perf_counter()
    while time.perf_counter() - began < 300:
        ids = await post(read(listed[-1]))
        await asyncio.sleep(1.0)
        if any(i in arrived for i in ids):
            break
    else:
        raise RuntimeError("records never raised an alert on a listed plate")
    print(f"records holds the entries: first alert {time.perf_counter() - began:.1f} s after loading")
    # the connections open now: the server closes keep-alive connections left idle over the warm-up
    pool.get_nowait().close()
    for _ in range(args.connections):
        pool.put_nowait(Connection("127.0.0.1", system.port))

    due_at: dict[str, float] = {}
    hits = refused = 0

    async def one(body: dict[str, Any], due: float) -> None:
        nonlocal refused
        ids = await post(body)
        if not ids:
            refused += 1
        for read_id in ids:
            due_at[read_id] = due

    tasks = []
    total = int(args.rate * args.seconds)
    begin = time.perf_counter()
    for number in range(total):
        due = begin + number / args.rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        hit = rng.randrange(args.hit_every) == 0
        hits += hit
        # timed from when the post was due, so a sender falling behind counts against the figure
        tasks.append(asyncio.create_task(one(read(rng.choice(listed) if hit else plate(rng)), due)))
    await asyncio.gather(*tasks)
    posting_s = time.perf_counter() - begin
    deadline = time.perf_counter() + 30
    while sum(1 for r in due_at if r in arrived) < hits and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    while not pool.empty():
        pool.get_nowait().close()
    await nc.close()
    latencies = sorted(arrived[r] - due_at[r] for r in due_at if r in arrived)
    print(f"reads posted: {total:,} in {posting_s:.1f} s ({total / posting_s:,.0f}/s, offered {args.rate:,}/s)")
    print(f"refused posts: {refused}; hits sent: {hits}; alerts received: {len(latencies)}")
    if latencies:
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(int(len(latencies) * 0.99), len(latencies) - 1)]
        worst = latencies[-1] * 1000
        print(f"post → alert on stream: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {worst:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000, help="single-read posts per second offered")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--hit-every", type=int, default=50, help="one read in N is a listed plate")
    parser.add_argument("--connections", type=int, default=200, help="camera connections, keep-alive")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    system = RunningSystem()
    system.start()
    try:
        asyncio.run(run(system, args))
    finally:
        system.stop()


if __name__ == "__main__":
    main()
