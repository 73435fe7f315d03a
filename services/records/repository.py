"""All SQL of the records service: partitions, idempotent read inserts, search and lookups."""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.db import driver_connection
from services.records.service import ReadRow

_COLUMN_TYPES = {
    "read_id": "uuid", "captured_at": "timestamptz", "agency": "text", "camera_id": "text", "plate": "text",
    "plate_raw": "text", "lookalike_key": "text", "state": "text", "confidence": "float8",
    "confidence_raw": "text", "candidates": "jsonb", "our_plate": "text", "our_confidence": "float8",
    "our_char_confidences": "jsonb", "our_candidates": "jsonb", "our_model": "text", "latitude": "float8",
    "longitude": "float8", "heading": "real", "plate_box": "jsonb", "plate_polygon": "jsonb", "vehicle": "jsonb",
    "vendor": "text", "vendor_format": "text", "raw_body": "text", "flags": "text", "has_image": "bool",
    "hotlist_hit": "bool", "our_lookalike_key": "text", "location_from_camera": "bool",
}  # fmt: skip
_READ_COLUMNS = tuple(_COLUMN_TYPES)
_READ_TYPES = tuple(_COLUMN_TYPES.values())
_INSERT_READS = (
    f"INSERT INTO reads ({', '.join(_READ_COLUMNS)}) SELECT "
    + ", ".join(
        "string_to_array(u.flags, ',')" if c == "flags" else (f"u.{c}::jsonb" if t == "jsonb" else f"u.{c}")
        for c, t in zip(_READ_COLUMNS, _READ_TYPES, strict=True)
    )
    + " FROM unnest("
    + ", ".join(f"${i + 1}::{'text' if t == 'jsonb' else t}[]" for i, t in enumerate(_READ_TYPES))
    + f") AS u({', '.join(_READ_COLUMNS)}) ON CONFLICT (read_id, captured_at) DO NOTHING RETURNING read_id"
)


def partition_name(table: str, day: date) -> str:
    return f"{table}_{day:%Y%m%d}"


def plate_days_partition(day: date) -> str:
    """The monthly partition of the plate-day map that holds this day."""
    return f"read_plate_days_{day:%Y%m}"


def plate_days_partition_ddl(day: date) -> str:
    """Create the plate-day map's partition for the month of `day`, if it is missing."""
    month = day.replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return (
        f"CREATE TABLE IF NOT EXISTS {plate_days_partition(month)} PARTITION OF read_plate_days "
        f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
    )


async def ensure_day_partitions(session: AsyncSession, *, days: Sequence[date]) -> None:
    """Create the daily partitions of reads and images for these days if they are missing."""
    # one creator at a time across replicas; IF NOT EXISTS makes the loser a no-op
    await session.execute(text("SELECT pg_advisory_xact_lock(7215001)"))
    for month in sorted({d.replace(day=1) for d in days}):
        await session.execute(text(plate_days_partition_ddl(month)))
    for day in sorted(set(days)):
        lo, hi = day.isoformat(), (day + timedelta(days=1)).isoformat()
        for table in ("reads", "read_images"):
            await session.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {partition_name(table, day)} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{lo} 00:00+00') TO ('{hi} 00:00+00')"
                )
            )


async def existing_partition_days(session: AsyncSession) -> set[date]:
    """Days that already have a reads partition."""
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'reads' "
            "AND p.relnamespace = to_regnamespace(current_schema())"
        )
    )
    return {datetime.strptime(r[0][-8:], "%Y%m%d").date() for r in rows}


async def insert_reads(session: AsyncSession, rows: Sequence[ReadRow]) -> set[str]:
    """Insert reads once each; returns the ids that were new (a redelivery inserts nothing)."""
    if not rows:
        return set()
    columns: list[list[Any]] = [[] for _ in _READ_COLUMNS]
    for row in rows:
        for i, value in enumerate(row.values(_READ_COLUMNS)):
            columns[i].append(_encode(value, _READ_TYPES[i], _READ_COLUMNS[i]))
    conn = await driver_connection(session)
    inserted = await conn.fetch(_INSERT_READS, *columns)
    return {str(r["read_id"]) for r in inserted}


async def insert_images(session: AsyncSession, images: Sequence[tuple[str, datetime, str, str, bytes]]) -> None:
    """Store images of newly inserted reads."""
    if not images:
        return
    conn = await driver_connection(session)
    await conn.executemany(
        "INSERT INTO read_images (read_id, captured_at, kind, content_type, data) "
        "VALUES ($1::uuid, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        images,
    )


def _encode(value: Any, sql_type: str, column: str) -> Any:
    if value is None:
        return None
    if column == "flags":
        return ",".join(value)
    if sql_type == "jsonb":
        return json.dumps(value)
    return value


_SUMMARY = (
    "read_id::text AS read_id, captured_at, plate, our_plate, state, confidence, agency, camera_id, "
    "latitude, longitude, location_from_camera, has_image"
)
# B2: a held copy (its partition purged) answers only a case one of its active holds was made for; search,
# read detail and image all ask it this one way
HELD_FOR_CASE = (
    "EXISTS (SELECT 1 FROM legal_holds h WHERE h.hold_id = ANY(held_reads.hold_ids) AND h.status = 'active' "
    "AND h.case_number = :held_case)"
)


# an exact plate probes its newest days first; a page needs at most one day per missing read, and a plate
# seen many times a day needs fewer: the next statement probes as many days as the rate so far says
FIRST_DAYS = 48
# runs of consecutive days per statement: one statement text, so one generic plan per connection, whose
# run-time pruning opens only the partitions the spans name (a custom plan costs ~0.3 ms per partition).
# Each opened partition sets up every span as its filter: with 64 spans a partition cost ~60 us, with 16
# ~12 us, so a plate seen on scattered days takes a few more, cheaper statements (issue #8). Bridging
# short gaps (probing days the plate was not seen) measured no better: each costs index pages to read.
DAY_SPANS = 16
_NO_SPAN = datetime(1, 1, 1, tzinfo=UTC)  # an empty span, captured_at >= x AND captured_at < x: no partition


async def search_reads(
    session: AsyncSession,
    *,
    where: list[str],
    params: dict[str, Any],
    since: datetime,
    until: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
    arms: Sequence[str] = (),
    held_case: str | None = None,
    held_before: datetime | None = None,
    generic_plan: bool = True,
    exact_plate: str | None = None,
) -> list[dict[str, Any]]:
    """Newest versions of reads, newest first, keyset-paginated on (captured_at, read_id).

    A read matches `where` and any one of `arms` (disjoint predicates, each asked on its own index in a union:
    an OR of them planned a bitmap of both indexes in every partition; see migration 0006 for the figures).
    With `held_case`, held copies whose partition is gone join in, only those a hold of that case keeps; with
    `held_before` too (B2: the search reaches past the searcher's look-back under a held case), reads captured
    before it are found only when a hold of that case keeps them.
    `generic_plan=False` for predicates whose best plan depends on the value (a partial plate's pattern).
    With `exact_plate` (the predicates ask for it), only the day partitions the plate-day map names are probed.
    """
    base = ["superseded_by IS NULL", *where]
    bind = {**params, "since": held_before or since, "until": until, "limit": limit}
    if after is not None:
        base.append("(captured_at, read_id) < (:after_t, CAST(:after_id AS uuid))")
        bind.update(after_t=after[0], after_id=after[1])
    clauses = ["captured_at >= :since", "captured_at < :until", *base]
    if exact_plate is not None:
        rows = await _reads_on_plate_days(session, exact_plate, clauses, arms, bind, limit)
    else:
        if generic_plan:
            # a plan for hundreds of daily partitions costs more than running it: plan once per connection
            await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        rows = [dict(r._mapping) for r in await session.execute(text(_newest_reads(clauses, arms)), bind)]
    if held_case is not None:
        either = [f"(({') OR ('.join(arms)}))"] if arms else []  # held copies are few: one statement of both
        rows += await _held_for_case(session, [*base, *either], {**bind, "since": since}, held_case, held_before)
        rows.sort(key=lambda r: (r["captured_at"], r["read_id"]), reverse=True)
    return rows[:limit]


_NEWEST_FIRST = "ORDER BY captured_at DESC, read_id DESC LIMIT :limit"


def _newest_reads(clauses: list[str], arms: Sequence[str]) -> str:
    """The newest reads matching every clause and any one arm, each arm a statement of its own in a union."""
    selects = [
        f"SELECT {_SUMMARY} FROM reads WHERE {' AND '.join([*clauses, arm])} {_NEWEST_FIRST}" for arm in arms
    ] or [f"SELECT {_SUMMARY} FROM reads WHERE {' AND '.join(clauses)} {_NEWEST_FIRST}"]
    if len(selects) == 1:
        return selects[0]
    return f"SELECT * FROM ({' UNION ALL '.join(f'({s})' for s in selects)}) AS found {_NEWEST_FIRST}"


async def _held_for_case(
    session: AsyncSession, base: list[str], bind: dict[str, Any], case: str, held_before: datetime | None
) -> list[dict[str, Any]]:
    """Reads a hold of this case keeps: its held copies in the window, and before `held_before` its live reads."""
    # retention's repository builds on this module: its rule of what a hold keeps is imported when needed
    from services.records.retention.repository import HELD_BY

    where = " AND ".join(["captured_at >= :since", "captured_at < :until", *base])
    sql = f"SELECT {_SUMMARY} FROM held_reads WHERE {where} AND {HELD_FOR_CASE} {_NEWEST_FIRST}"
    if held_before is not None:
        live = (
            f"SELECT {_SUMMARY} FROM reads r WHERE {where} AND captured_at < :held_before AND EXISTS (SELECT 1 "
            f"FROM legal_holds h WHERE h.case_number = :held_case AND {HELD_BY}) {_NEWEST_FIRST}"
        )
        sql = f"SELECT * FROM (({sql}) UNION ALL ({live})) AS held {_NEWEST_FIRST}"
    result = await session.execute(text(sql), {**bind, "held_case": case, "held_before": held_before})
    return [dict(r._mapping) for r in result]


async def _reads_on_plate_days(
    session: AsyncSession, plate: str, clauses: list[str], arms: Sequence[str], bind: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Reads of one plate, probing only the days the plate-day map names, newest days first."""
    # on the driver itself, inside the session's transaction, prepared once per connection: through
    # SQLAlchemy each statement of dozens of parameters cost about 1.5 ms more than PostgreSQL's work (issue #8)
    conn = await driver_connection(session)
    last = min(bind.get("after_t", bind["until"]), bind["until"])
    # one round trip: the plan mode for the statements that follow, and the plate's days
    days: list[date] = await conn.fetchval(_PLATE_DAYS, plate, utc_day(bind["since"]), utc_day(last))
    spans = " OR ".join(f"(captured_at >= :span{i}_lo AND captured_at < :span{i}_hi)" for i in range(DAY_SPANS))
    sql, names = _positional(_newest_reads([*clauses, f"({spans})"], arms))
    found: list[dict[str, Any]] = []
    most = FIRST_DAYS
    while days and len(found) < limit:
        span_bind, rest = _day_spans(days, most)
        values = {**bind, **span_bind, "limit": limit - len(found)}
        page = [dict(r) for r in await conn.fetch(sql, *(values[n] for n in names))]
        found += page
        per_day = len(page) / (len(days) - len(rest))
        # a day the map names holds at least one read (unless purged since): no margin is needed below that
        needed = (limit - len(found)) / per_day * 1.25 if per_day > 1 else limit - len(found)
        most, days = max(math.ceil(needed), FIRST_DAYS), rest
    return found


_PLATE_DAYS = (
    "SELECT ARRAY(SELECT day FROM read_plate_days WHERE plate = $1 AND day >= $2 AND day <= $3 ORDER BY day DESC) "
    "FROM set_config('plan_cache_mode', 'force_generic_plan', true)"
)
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=64)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """The driver's form of a statement with :named parameters: $n placeholders, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    return _NAMED.sub(number, sql), tuple(names)


def _day_spans(days: list[date], most: int) -> tuple[dict[str, datetime], list[date]]:
    """Bounds of up to DAY_SPANS runs of consecutive days from `days` (newest first, at most `most` of
    them), padded with empty spans; and the days left for the next statement."""
    runs: list[list[date]] = []
    taken = 0
    for day in days[:most]:
        if runs and runs[-1][0] - timedelta(days=1) == day:
            runs[-1][0] = day
        elif len(runs) == DAY_SPANS:
            break
        else:
            runs.append([day, day])
        taken += 1
    bind = {}
    for i in range(DAY_SPANS):
        first, last = runs[i] if i < len(runs) else (None, None)
        bind[f"span{i}_lo"] = _day_start(first) if first else _NO_SPAN
        bind[f"span{i}_hi"] = _day_start(last + timedelta(days=1)) if last else _NO_SPAN
    return bind, days[taken:]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def get_read(session: AsyncSession, *, read_id: str, case_number: str | None) -> dict[str, Any] | None:
    """The newest version of a read, by id; a held copy only for a case one of its active holds names."""
    result = await session.execute(
        text(
            "SELECT *, read_id::text AS read_id, supersedes::text AS supersedes FROM reads "
            "WHERE read_id = CAST(:id AS uuid) ORDER BY version DESC LIMIT 1"
        ),
        {"id": read_id},
    )
    row = result.first()
    if row is None and case_number is not None:  # a held copy, kept apart after its partition was purged
        row = (
            await session.execute(
                text(
                    "SELECT *, read_id::text AS read_id, supersedes::text AS supersedes FROM held_reads "
                    f"WHERE read_id = CAST(:id AS uuid) AND {HELD_FOR_CASE} LIMIT 1"
                ),
                {"id": read_id, "held_case": case_number},
            )
        ).first()
    return dict(row._mapping) if row else None


async def get_image(
    session: AsyncSession, *, read_id: str, kind: str | None, case_number: str | None
) -> dict[str, Any] | None:
    """One image of a read: the requested kind, or the plate crop first; a held copy's only for its hold's case."""
    tables = {"read_images": "TRUE"}
    if case_number is not None:  # held copies after their partition was purged
        tables["held_read_images"] = (
            "EXISTS (SELECT 1 FROM held_reads WHERE held_reads.read_id = i.read_id "
            f"AND held_reads.captured_at = i.captured_at AND {HELD_FOR_CASE})"
        )
    for table, visible in tables.items():
        result = await session.execute(
            text(
                f"SELECT read_id::text AS read_id, kind, content_type, data FROM {table} i "
                "WHERE read_id = CAST(:id AS uuid) AND (CAST(:kind AS text) IS NULL OR kind = :kind) "
                f"AND {visible} ORDER BY (kind = 'plate') DESC, kind LIMIT 1"
            ),
            {"id": read_id, "kind": kind, "held_case": case_number},
        )
        row = result.first()
        if row is not None:
            return dict(row._mapping)
    return None


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


async def drop_superseded_previews(session: AsyncSession, *, preview_ids: Sequence[str]) -> None:
    """Remove vendor preview reads (and their images) that a final read has replaced."""
    if not preview_ids:
        return
    await session.execute(
        text(
            "WITH gone AS (DELETE FROM reads WHERE read_id = ANY(CAST(:ids AS uuid[])) "
            "AND 'vendor_preview' = ANY(flags) RETURNING read_id, captured_at) "
            "DELETE FROM read_images i USING gone WHERE i.read_id = gone.read_id AND i.captured_at = gone.captured_at"
        ),
        {"ids": list(preview_ids)},
    )


async def count_reads(session: AsyncSession) -> int:
    """Reads held now, one per read (a corrected read counts once)."""
    result = await session.execute(text("SELECT count(*) FROM reads WHERE superseded_by IS NULL"))
    return int(result.scalar_one())
