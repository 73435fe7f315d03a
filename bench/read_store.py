"""Records' store statement for a batch of reads, with a year of daily partitions: what it costs, and how much of
it is the probe that keeps one read id to one capture instant (`read_id_conflict`, docs/operations.md).

Prints the median and fastest time of the whole statement (1,000 fresh reads a batch by default) and of the
probe alone on another fresh batch, after the warm-up. Usage, against a running stack's PostgreSQL (`alpr up`
prints its port; a database of a test stack will do):

    python bench/read_store.py --dsn postgresql://postgres@127.0.0.1:PORT/alpr [--reads 1000] [--rounds 24]
        [--fill 200000]

It creates the reads partitions of the last 370 days that are missing and, with `--fill N`, stores N reads
spread over them (once: it counts what is there), so the probe meets a year's partitions as production's does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from libs.common.contracts.reads import ReadIn
from services.records.repository import reads as store
from services.records.service import ReadRow

YEAR_DAYS = 370


def fresh_rows(n: int, at: datetime) -> list[ReadRow]:
    """n reads of new ids, a second apart, ending at `at`."""
    return [
        ReadRow(
            read=ReadIn(
                read_id=str(uuid.uuid4()),
                agency="CA0430000",
                camera_id="bench-store",
                captured_at=at - timedelta(seconds=i),
                plate=f"BS{i:06d}",
            )
        )
        for i in range(n)
    ]


async def prepare(conn: asyncpg.Connection, fill: int) -> int:
    """A year of daily partitions (and the plate-day months), and at least `fill` reads; the reads there now."""
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=d) for d in range(-2, YEAR_DAYS)]
    for month in sorted({d.replace(day=1) for d in days}):
        await conn.execute(store.plate_days_partition_ddl(month))
    for day in days:
        lo, hi = day.isoformat(), (day + timedelta(days=1)).isoformat()
        for table in ("reads", "read_images"):
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {store.partition_name(table, day)} PARTITION OF {table} "
                f"FOR VALUES FROM ('{lo} 00:00+00') TO ('{hi} 00:00+00')"
            )
    have = int(await conn.fetchval("SELECT count(*) FROM reads"))
    if have < fill:
        await conn.execute(
            "INSERT INTO reads (read_id, captured_at, agency, camera_id, plate, lookalike_key, vendor, vendor_format) "
            "SELECT gen_random_uuid(), now() - (g * ($2::float8 / $1) * interval '1 day'), 'CA0430000', "
            "'bench-fill', 'F' || g, 'F' || g, 'bench', 'bench' FROM generate_series(1, $1) AS g",
            fill - have,
            float(YEAR_DAYS - 5),
        )
        await conn.execute("ANALYZE reads")
    return int(await conn.fetchval("SELECT count(*) FROM reads"))


async def run(dsn: str, *, reads: int, rounds: int, fill: int) -> None:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "records, public"})
    try:
        stored = await prepare(conn, fill)
        seen = await conn.fetchval("SELECT coalesce(max(change_seq), 0) FROM hotlist_entries")
        probe = f"SELECT count(*) FROM ({store._CLASH}) AS clash"
        whole: list[float] = []
        alone: list[float] = []
        for _ in range(rounds):
            batch = fresh_rows(reads, datetime.now(UTC))
            started = time.perf_counter()
            await store.store_reads_alone(conn, batch, [], hotlists_seen=seen)
            whole.append((time.perf_counter() - started) * 1000)
            # the probe's arguments as the store sends them ($1, $8, $9; the others unused and typed as sent)
            args = store._store_arguments(fresh_rows(reads, datetime.now(UTC)), [], seen)
            started = time.perf_counter()
            await conn.fetchval(probe.replace("$8", "$2").replace("$9", "$3"), args[0], args[7], args[8])
            alone.append((time.perf_counter() - started) * 1000)
        partitions = await conn.fetchval(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = 'reads' AND p.relnamespace = 'records'::regnamespace"
        )
    finally:
        await conn.close()
    warm = max(1, rounds // 6)  # the first statements plan afresh (a generic plan is tried at the sixth)
    for name, times in (("store statement", whole), ("id-instant probe alone", alone)):
        kept = times[warm:]
        print(
            f"{name}: median {statistics.median(kept):.1f} ms, fastest {min(kept):.1f} ms for {reads:,} reads "
            f"({len(kept)} runs after {warm} warm-up; {partitions} daily partitions, {stored:,} reads stored)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="the stack's PostgreSQL (database alpr)")
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--fill", type=int, default=200_000, help="reads spread over the year, stored once")
    args = parser.parse_args()
    asyncio.run(run(args.dsn, reads=args.reads, rounds=args.rounds, fill=args.fill))


if __name__ == "__main__":
    main()
