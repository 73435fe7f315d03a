"""Exact-plate search through the gateway, with the audit acknowledgement, against `alpr up`.

Loads `--reads` reads over a year into the running system's PostgreSQL (as bench/search.py builds
them), then posts `--queries` exact-plate searches (29-day window: not a broad search) as the
development officer and prints p50/p95 of the HTTP round trip, which includes the access record
being persisted by the audit service before the answer.

Run: .venv/bin/python bench/search_gateway.py [--reads 1000000] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.search import build, sample_plates
from bench.system import RunningSystem

PURPOSE = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on Story Road",
}


async def run(system: RunningSystem, args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    await build(system.admin_dsn, reads=args.reads, days=365, purge_day_reads=1000, today=now.date())
    conn = await asyncpg.connect(system.admin_dsn)
    await conn.execute("ANALYZE records.reads")
    await conn.close()
    plates = await sample_plates(system.admin_dsn, args.queries + 30)
    window = {"since": (now - timedelta(days=29)).isoformat(), "until": (now + timedelta(minutes=5)).isoformat()}
    headers = {"Authorization": f"Bearer {system.credential('officer')}"}
    times, found = [], []
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        for plate in plates:
            body = {"query": {"plate": plate, **window}, "purpose": PURPOSE}
            while True:
                started = time.perf_counter()
                response = await client.post("/v1/searches", json=body, headers=headers)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 429:  # the per-person rate limit: wait as told, time only answers
                    break
                await asyncio.sleep(float(response.json()["error"]["details"]["retry_after_s"]))
            times.append(elapsed)
            if response.status_code != 200:
                raise SystemExit(f"search {len(times)} refused: {response.status_code} {response.text}")
            found.append(len(response.json()["reads"]))
    times, found = times[30:], found[30:]  # the first ones warm the pools and plan caches
    cuts = statistics.quantiles(times, n=100)
    print(
        f"gateway POST /v1/searches, exact plate, 29-day window (not broad), audited: p50 {cuts[49]:.1f} ms, "
        f"p95 {cuts[94]:.1f} ms (n={len(times)}, mean results {statistics.mean(found):.1f}, {args.reads:,} reads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    system = RunningSystem()
    system.start()
    try:
        asyncio.run(run(system, args))
    finally:
        system.stop()
        shutil.rmtree(system.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
