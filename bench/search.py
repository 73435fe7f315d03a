"""Benchmark of search and retention: a year of reads in an embedded PostgreSQL, then query and purge timings.

Builds `--reads` reads spread over `--days` daily partitions (generated inside PostgreSQL with
generate_series, loaded into bare tables and attached, so indexes are built in bulk), plus one old day
of `--purge-day-reads` reads, then prints p50/p95 of the records search handler for an exact plate, a
partial plate with 4 known characters over 30 days, a look-alike match, and a vehicle (make, colour and body
type, or colour and body type alone) in a 2 km circle over 30 days, and the time the purge
job takes to drop that old day.

Run: .venv/bin/python bench/search.py [--reads 10000000] [--days 365] [--purge-day-reads 1000000]
With `--keep DIR` the data set stays in DIR, and a later run with the same DIR measures it again without
the build (only the old day is loaded again, for the purge).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the repository root holds the `services` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from libs.common.bus import Bus
from libs.common.contracts.search import SearchQuery, SearchRequest
from libs.common.db import UnitOfWork, create_engine
from services.cli.embedded import EmbeddedNats, EmbeddedPostgres
from services.cli.stack import migrate
from services.records.lookalike import DEFAULT_LOOKALIKES, lookalike_key
from services.records.lookups import ReadLookups
from services.records.repository import plate_days_partition_ddl
from services.records.retention.job import PurgeJob
from services.records.settings import RecordsSettings

VEHICLES = 2_000_000  # distinct plates in the area; frequent commuters are seen far more often than others
PLATE_SPACE = 9 * 26**3 * 1000  # California's 1ABC234 pattern
# the default look-alike classes as one translate(): 0ODQ→0, 1IL→1, 8B→8, 5S→5, 2Z→2, 6G→6
LOOKALIKE_FROM, LOOKALIKE_TO = "ODQILBSZG", "000118526"

PLATE_FN = f"""
CREATE OR REPLACE FUNCTION public.bench_plate(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
SELECT chr(49 + (h % 9)::int) || chr(65 + ((h / 9) % 26)::int) || chr(65 + ((h / 234) % 26)::int)
    || chr(65 + ((h / 6084) % 26)::int) || lpad(((h / 158184) % 1000)::text, 3, '0')
FROM (SELECT (k * 2654435761) % {PLATE_SPACE} AS h) AS hashed $$
"""

# A plate's vehicle, the same on every read of it: make, colour and body type drawn by California's shares
# (roughly: registrations and what OpenALPR reports), a 5-year model range; 30% of reads come from cameras
# whose vendor describes no vehicle. Each list is (value, share); the last takes what the others leave.
MAKE_SHARES = [
    ("Toyota", 0.16), ("Honda", 0.11), ("Ford", 0.09), ("Chevrolet", 0.08), ("Tesla", 0.05), ("Nissan", 0.06),
    ("Hyundai", 0.04), ("Kia", 0.04), ("BMW", 0.04), ("Mercedes-Benz", 0.04), ("Subaru", 0.03), ("Lexus", 0.03),
    ("Volkswagen", 0.03), ("Jeep", 0.03), ("Mazda", 0.03), ("Dodge", 0.02), ("Ram", 0.02), ("GMC", 0.02),
    ("Audi", 0.02), ("Acura", 0.02), ("Kenworth", 0.005), ("Freightliner", 0.005), ("Volvo", 0.0),
]  # fmt: skip
COLOR_SHARES = [("white", 0.25), ("black", 0.22), ("silver-gray", 0.30), ("blue", 0.09), ("red", 0.08),
                ("brown-beige", 0.02), ("green", 0.01), ("gold", 0.0)]  # fmt: skip
BODY_SHARES = [("suv-crossover", 0.38), ("sedan", 0.36), ("pickup", 0.12), ("hatchback", 0.04), ("minivan", 0.03),
               ("van", 0.03), ("coupe", 0.02), ("truck", 0.01), ("tractor-trailer", 0.005),
               ("motorcycle", 0.0)]  # fmt: skip
DESCRIBED = 0.7


def _pick(shares: list[tuple[str, float]], salt: str) -> str:
    """SQL choosing a value by its share, from a uniform number hashed from the plate and `salt`."""
    values = ", ".join(f"'{v}'" for v, _ in shares)
    bounds, total = [], 0.0
    for _, share in shares[:-1]:
        total += share
        bounds.append(f"{total:.4f}")
    uniform = f"(abs(hashtext(p || '{salt}'))::float8 / 2147483648)"
    return f"(ARRAY[{values}])[width_bucket({uniform}, ARRAY[{', '.join(bounds)}]::float8[]) + 1]"


VEHICLE_FN = f"""
CREATE OR REPLACE FUNCTION public.bench_vehicle(p text, OUT make text, OUT color text, OUT body_type text,
    OUT year_from smallint) LANGUAGE sql IMMUTABLE AS $$
SELECT {_pick(MAKE_SHARES, "m")}, {_pick(COLOR_SHARES, "c")}, {_pick(BODY_SHARES, "b")},
    (1995 + abs(hashtext(p || 'y')) % 28)::smallint
WHERE abs(hashtext(p || 'd'))::float8 / 2147483648 < {DESCRIBED} $$
"""

FILL = f"""
INSERT INTO {{table}} (read_id, captured_at, agency, camera_id, plate, plate_raw, lookalike_key, state,
    confidence, latitude, longitude, vendor, vendor_format, hotlist_hit, vehicle_make, vehicle_color,
    vehicle_body_type, vehicle_year_from, vehicle_year_to, vehicle_attributes)
SELECT gen_random_uuid(), $1::timestamptz + random() * interval '1 day', 'CA0430000',
    'cam-' || (random() * 199)::int, p, p, translate(p, '{LOOKALIKE_FROM}', '{LOOKALIKE_TO}'),
    CASE WHEN random() < 0.97 THEN 'CA' ELSE 'NV' END, 0.5 + random() * 0.5,
    37.20 + random() * 0.25, -122.05 + random() * 0.30, 'native', 'native', random() < 0.002,
    v.make, v.color, v.body_type, v.year_from, v.year_from + 4,
    CASE WHEN v.make IS NOT NULL THEN jsonb_build_object('make', v.make, 'color', v.color, 'body_type',
        v.body_type, 'year_from', v.year_from, 'year_to', v.year_from + 4, 'confidence', jsonb_build_object(
        'make', 0.8, 'color', 0.9, 'body_type', 0.85, 'year', 0.4)) END
FROM (SELECT public.bench_plate((power(random(), 2) * {VEHICLES})::bigint) AS p
      FROM generate_series(1, $2)) AS vehicles LEFT JOIN LATERAL public.bench_vehicle(p) AS v ON true
"""


async def load_day(conn: asyncpg.Connection, day: date, n: int) -> None:
    """One day's reads into a bare table, then attached: its indexes are built once, in bulk."""
    name, lo, hi = f"reads_{day:%Y%m%d}", day.isoformat(), (day + timedelta(days=1)).isoformat()
    start = datetime.combine(day, datetime.min.time(), UTC)
    # straight into the partition, past the trigger on `reads`: the plate-day map is filled here instead
    await conn.execute(plate_days_partition_ddl(day))
    note_plate_days = (
        f"INSERT INTO read_plate_days (plate, day) SELECT DISTINCT plate, '{lo}'::date FROM {name} "
        "WHERE plate IS NOT NULL ON CONFLICT DO NOTHING"
    )
    if await conn.fetchval("SELECT to_regclass($1)", name):  # a running records made it already
        await conn.execute(FILL.format(table=name), start, n)
        await conn.execute(note_plate_days)
        return
    await conn.execute(f"CREATE TABLE {name} (LIKE reads INCLUDING DEFAULTS)")
    await conn.execute(FILL.format(table=name), start, n)
    await conn.execute(note_plate_days)
    # the check lets ATTACH skip its validation scan
    await conn.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK (captured_at >= '{lo} 00:00+00' "
        f"AND captured_at < '{hi} 00:00+00')"
    )
    await conn.execute(
        f"ALTER TABLE reads ATTACH PARTITION {name} FOR VALUES FROM ('{lo} 00:00+00') TO ('{hi} 00:00+00')"
    )
    await conn.execute(
        f"CREATE TABLE read_images_{day:%Y%m%d} PARTITION OF read_images "
        f"FOR VALUES FROM ('{lo} 00:00+00') TO ('{hi} 00:00+00')"
    )


async def build(admin_dsn: str, *, reads: int, days: int, purge_day_reads: int, today: date, year: bool = True) -> date:
    """The year of reads (unless `year` is False: a kept data set has it), and one day older than the
    retention cutoff; returns that old day."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(PLATE_FN)
        await conn.execute(VEHICLE_FN)
        await conn.execute("SET ROLE alpr_records; SET search_path TO records, public")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        per_day = reads // days
        started = time.perf_counter()
        for i in range(days if year else 0):
            await load_day(conn, today - timedelta(days=i), per_day)
            if i % 30 == 29:
                done = (i + 1) * per_day
                print(f"  loaded {done:,} reads in {time.perf_counter() - started:.0f} s", flush=True)
        old_day = today - timedelta(days=days + 30)
        await load_day(conn, old_day, purge_day_reads)
        # one plate of the old day is under a legal hold, so the purge copies it out before the drop
        plate = await conn.fetchval(f"SELECT plate FROM reads_{old_day:%Y%m%d} LIMIT 1")
        await conn.execute(
            "INSERT INTO legal_holds (hold_id, case_number, justification, requester_sub, approver_sub, status, "
            "review_date, plate, window_since, window_until) VALUES ($1, 'SJ-2026-000001', 'bench', 'a', 'b', "
            "'active', $2, $3, $4, $5)",
            uuid.uuid4(),
            today + timedelta(days=30),
            plate,
            datetime.combine(old_day, datetime.min.time(), UTC),
            datetime.combine(old_day + timedelta(days=1), datetime.min.time(), UTC),
        )
        await conn.execute("RESET ROLE")
        await conn.execute("ANALYZE records.reads")
        await conn.execute("ANALYZE records.read_plate_days")
        print(f"  built {per_day * days + purge_day_reads:,} reads in {time.perf_counter() - started:.0f} s")
        return old_day
    finally:
        await conn.close()


async def sample_vehicles(admin_dsn: str, n: int) -> list[dict[str, str]]:
    """Vehicles seen on reads, as a witness would describe them (the commoner a vehicle, the likelier)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT vehicle_make, vehicle_color, vehicle_body_type FROM records.reads TABLESAMPLE SYSTEM (1) "
            "WHERE vehicle_make IS NOT NULL LIMIT $1",
            n,
        )
        return [{"make": r[0], "color": r[1], "body_type": r[2]} for r in rows]
    finally:
        await conn.close()


def around(rng: random.Random) -> dict[str, float]:
    """A 2 km circle somewhere in the bench's area (the reads' box is 28 x 33 km)."""
    return {"lat": 37.22 + rng.random() * 0.21, "lon": -122.03 + rng.random() * 0.26, "radius_m": 2000}


async def sample_plates(admin_dsn: str, n: int) -> list[str]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        rows = await conn.fetch("SELECT plate FROM records.reads TABLESAMPLE SYSTEM (1) LIMIT $1", n)
        return [r["plate"] for r in rows]
    finally:
        await conn.close()


PARTIAL_KINDS = ("first 3", "last 3", "middle 4", "4 scattered")


def partial_of(plate: str, kind: str, rng: random.Random) -> str:
    """What a witness remembers of a plate: its start, its end, a run in the middle, or scattered characters."""
    if kind == "first 3":
        return plate[:3] + "*"
    if kind == "last 3":
        return "*" + plate[-3:]
    if kind == "middle 4":
        return "*" + plate[1:5] + "*"
    keep = set(rng.sample(range(len(plate)), 4))
    return "".join(ch if i in keep else "?" for i, ch in enumerate(plate))


async def timed(handlers: ReadLookups, queries: list[dict[str, Any]]) -> tuple[list[float], list[int]]:
    times, counts = [], []
    for q in queries:
        request = SearchRequest(search_id="bench", query=SearchQuery.model_validate(q))
        started = time.perf_counter()
        result = await handlers.search(request)
        times.append((time.perf_counter() - started) * 1000)
        counts.append(len(result.reads))
    return times, counts


def report(name: str, times: list[float], counts: list[int]) -> None:
    cuts = statistics.quantiles(times, n=100)
    print(
        f"{name:<48} p50 {cuts[49]:7.2f} ms   p95 {cuts[94]:7.2f} ms   "
        f"(n={len(times)}, mean results {statistics.mean(counts):.1f})"
    )


async def measure(stack_dir: Path, args: argparse.Namespace) -> None:
    pg, nats = EmbeddedPostgres(stack_dir / "postgres", durable=False), EmbeddedNats(stack_dir / "nats")
    pg.start()
    nats.start()
    try:
        await migrate(pg.admin_dsn, nats.url)
        now = datetime.now(UTC)
        # a kept data set already holds the year (built on `built`); the old day went with the last purge
        marker = stack_dir / "built"
        kept = marker.exists()
        today = date.fromisoformat(marker.read_text()) if kept else now.date()
        print(
            f"{'reusing' if kept else 'building'} {args.reads:,} reads over {args.days} days "
            f"+ one old day of {args.purge_day_reads:,}"
        )
        old_day = await build(
            pg.admin_dsn,
            reads=args.reads,
            days=args.days,
            purge_day_reads=args.purge_day_reads,
            today=today,
            year=not kept,
        )
        if args.keep:
            marker.write_text(today.isoformat())
        settings = RecordsSettings(database_url=pg.url_for("alpr_records"), nats_url=nats.url, environment="test")
        engine = create_engine(settings.database_url.get_secret_value(), schema="records")
        bus = await Bus.connect(nats.url, name="bench")
        handlers = ReadLookups(settings, UnitOfWork(engine), DEFAULT_LOOKALIKES)
        rng = random.Random(1798)
        plates = await sample_plates(pg.admin_dsn, args.queries + 20)
        assert all(lookalike_key(p) == p.translate(str.maketrans(LOOKALIKE_FROM, LOOKALIKE_TO)) for p in plates)
        year = {"since": now - timedelta(days=365), "until": now}
        month = {"since": now - timedelta(days=30), "until": now}
        exact = [{"plate": p, **year} for p in plates]
        exact_month = [{"plate": p, **month} for p in plates]
        partial = {
            kind: [{"plate": partial_of(p, kind, rng), "match": "partial", **month} for p in plates]
            for kind in PARTIAL_KINDS
        }
        lookalike = [{"plate": p, "match": "lookalike", **year} for p in plates]
        vehicles = await sample_vehicles(pg.admin_dsn, args.queries + 20)
        described = [{"vehicle": v, "area": around(rng), **month} for v in vehicles]
        colour_body = [
            {"vehicle": {"color": v["color"], "body_type": v["body_type"]}, "area": around(rng), **month}
            for v in vehicles
        ]
        warm = exact[:20] + lookalike[:20] + [q for kind in PARTIAL_KINDS for q in partial[kind][:20]]
        await timed(handlers, warm)  # warm the pool and the caches
        print(f"\nrecords search handler, {len(plates) - 20} queries each (limit 100 per page):")
        report("exact plate, 365-day window", *await timed(handlers, exact[20:]))
        report("exact plate, 30-day window", *await timed(handlers, exact_month[20:]))
        every_partial: tuple[list[float], list[int]] = ([], [])
        for kind in PARTIAL_KINDS:
            times, counts = await timed(handlers, partial[kind][20:])
            report(f"partial plate ({kind}), 30-day window", times, counts)
            every_partial[0].extend(times)
            every_partial[1].extend(counts)
        report("partial plate (all four kinds), 30-day window", *every_partial)
        report("look-alike, 365-day window", *await timed(handlers, lookalike[20:]))
        await timed(handlers, described[:20] + colour_body[:20])
        report("vehicle + 30-day window + area", *await timed(handlers, described[20:]))
        report("vehicle (colour, body only) + 30-day + area", *await timed(handlers, colour_body[20:]))

        job = PurgeJob(settings, UnitOfWork(engine), bus)
        started = time.perf_counter()
        # a week back, the cutoff (now - 358 days) falls a year back: the old day is the only one past it
        purged = await job.run(now - timedelta(days=settings.backup_window_days))
        elapsed = time.perf_counter() - started
        print(
            f"\npurge of one day ({old_day}, {args.purge_day_reads:,} reads): {elapsed * 1000:.0f} ms "
            f"(dropped {purged.partitions_dropped}, reads purged {purged.reads_purged:,}, "
            f"held {purged.reads_held}, certificate {purged.certificate_id})"
        )
        await bus.close()
        await engine.dispose()
    finally:
        nats.stop()
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--purge-day-reads", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the data set in this folder; a later run with the same folder measures it without rebuilding",
    )
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        args.keep.chmod(0o755)
        asyncio.run(measure(args.keep.resolve(), args))
        return
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-search-"))
    folder.chmod(0o755)
    try:
        asyncio.run(measure(folder, args))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
