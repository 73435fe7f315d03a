"""Reads' SQL: daily partitions, idempotent inserts, a read and its image by id, superseded previews."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.db import driver_connection, driver_fetch
from services.records.models import Read, StoredImage
from services.records.service import ROW_COLUMNS, ReadRow

_COLUMN_TYPES = {
    "read_id": "uuid", "captured_at": "timestamptz", "agency": "text", "camera_id": "text", "plate": "text",
    "plate_raw": "text", "lookalike_key": "text", "state": "text", "confidence": "float8",
    "confidence_raw": "text", "candidates": "jsonb", "our_plate": "text", "our_confidence": "float8",
    "our_char_confidences": "jsonb", "our_candidates": "jsonb", "our_model": "text", "latitude": "float8",
    "longitude": "float8", "heading": "real", "plate_box": "jsonb", "plate_polygon": "jsonb", "vehicle": "jsonb",
    "vendor": "text", "vendor_format": "text", "raw_body": "text", "flags": "text", "has_image": "bool",
    "hotlist_hit": "bool", "our_lookalike_key": "text", "location_from_camera": "bool", "vehicle_make": "text",
    "vehicle_model": "text", "vehicle_color": "text", "vehicle_body_type": "text",
    "vehicle_year_from": "int2", "vehicle_year_to": "int2",
    "vehicle_attributes": "jsonb",
}  # fmt: skip
# the columns the insert sends, in the order of its row type: ReadRow.values builds a read's row in this order
# (service.ROW_COLUMNS); two lists that drifted apart would store values under other columns, so they must agree
INSERT_COLUMNS = tuple(_COLUMN_TYPES)
if INSERT_COLUMNS != ROW_COLUMNS:
    raise RuntimeError("records' insert columns and ReadRow.values' order differ (service.ROW_COLUMNS)")
# the composite type the insert's rows travel as (migration 0011): versioned with _COLUMN_TYPES, so a column
# added here needs a migration creating reads_insert_v2 (pods of the old image keep sending v1 meanwhile)
READS_INSERT_TYPE = "reads_insert_v1"
# the columns whose values are encoded before they go (the rest go to asyncpg as they are): flags, jsonb
_ENCODED = tuple(i for i, (c, t) in enumerate(_COLUMN_TYPES.items()) if c == "flags" or t == "jsonb")
_SELECT_ROWS = (
    "SELECT "
    + ", ".join(
        "u.flags::text[]" if c == "flags" else (f"u.{c}::jsonb" if t == "jsonb" else f"u.{c}")
        for c, t in _COLUMN_TYPES.items()
    )
    + f" FROM unnest($1::{READS_INSERT_TYPE}[]) AS u"
)
_INSERT_READS = (
    f"INSERT INTO reads ({', '.join(INSERT_COLUMNS)}) {_SELECT_ROWS} "
    "ON CONFLICT (read_id, captured_at) DO NOTHING RETURNING read_id"
)
# Ingest's one statement: the reads once each and the images of those new, unless a hotlist entry changed after
# the last change they were matched against ($2); then nothing, and the caller catches up and matches again.
# One snapshot, so every change committed before it is matched. max() reads the end of the change_seq index
# whatever $2 is (an EXISTS (change_seq > $2) could go to a generic plan scanning the whole table). Equal, not
# at most: a newest change below $2 is a restored store (its new changes numbered again, at most $2), so the
# reads wait for the index to be loaded again (HotlistFollower.catch_up); the purge never lowers max().
# A read's id names one capture: the key is (id, time) because reads are partitioned by day, so the same id sent
# again at another instant (a resend whose time lost or gained its zone, a camera whose clock was set between
# the two) would be a second sighting. Such a read is not stored ("clashed", set aside by the caller) where a
# read of its id is stored within CLASH_WINDOW of it (a zone mistake is at most 26 hours). The probe is one
# index lookup in each day's partition around each read; the batch's own bounds ($8, $9) are constants to the
# planner, so it plans only those days' partitions. Without them planning the year's 370 cost 43 ms a batch,
# and as a semi-join it read the whole table: 170-370 ms for 1,000 reads; as it is, about 9 ms of the
# statement's 32 (`python bench/read_store.py`, docs/capacity.md).
CLASH_WINDOW = timedelta(hours=27)
_WINDOW_S = int(CLASH_WINDOW.total_seconds())
_CLASH = (
    f"SELECT u.read_id FROM unnest($1::{READS_INSERT_TYPE}[]) AS u, LATERAL (SELECT 1 FROM reads r "
    "WHERE r.read_id = u.read_id AND r.captured_at <> u.captured_at AND r.captured_at BETWEEN $8 AND $9 "
    f"AND r.captured_at BETWEEN u.captured_at - interval '{_WINDOW_S} seconds' "
    f"AND u.captured_at + interval '{_WINDOW_S} seconds' LIMIT 1) AS stored_before"
)
_STORE_READS = (
    "WITH fresh AS (SELECT coalesce((SELECT max(change_seq) FROM hotlist_entries), 0) = $2 AS matched_now), "
    f"clash AS ({_CLASH}), "
    f"stored AS (INSERT INTO reads ({', '.join(INSERT_COLUMNS)}) {_SELECT_ROWS} WHERE (SELECT matched_now FROM fresh) "
    "AND u.read_id NOT IN (SELECT read_id FROM clash) "
    "ON CONFLICT (read_id, captured_at) DO NOTHING RETURNING read_id, captured_at), "
    "kept AS (INSERT INTO read_images (read_id, captured_at, kind, content_type, data) "
    "SELECT i.read_id, i.captured_at, i.kind, i.content_type, i.data "
    "FROM unnest($3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::bytea[]) "
    "AS i(read_id, captured_at, kind, content_type, data) JOIN stored USING (read_id, captured_at) "
    "ON CONFLICT DO NOTHING) "
    "SELECT (SELECT matched_now FROM fresh) AS matched_now, ARRAY(SELECT read_id::text FROM stored) AS new_ids, "
    "ARRAY(SELECT read_id::text FROM clash) AS clashed"
)
Image = tuple[str, datetime, str, str, bytes]  # read_id, captured_at, kind, content_type, data


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
    conn = await driver_connection(session)
    inserted = await conn.fetch(_INSERT_READS, _row_values(rows))
    return {str(r["read_id"]) for r in inserted}


@dataclass(frozen=True)
class Stored:
    """What a store did: the ids it inserted, and those it refused because their id is stored at another time."""

    new_ids: set[str]
    clashed: set[str]


async def store_reads(
    session: AsyncSession, rows: Sequence[ReadRow], images: Sequence[Image], *, hotlists_seen: int
) -> Stored | None:
    """Store reads once each, and the images of the new ones, in the session's transaction (begun by this
    statement when it is the first); what it stored, or None when a hotlist entry changed after change
    `hotlists_seen`: then nothing is stored, and the reads are to be matched again."""
    _, [result] = await driver_fetch(session, _STORE_READS, *_store_arguments(rows, images, hotlists_seen))
    return _stored(result)


async def store_reads_alone(
    conn: asyncpg.Connection, rows: Sequence[ReadRow], images: Sequence[Image], *, hotlists_seen: int
) -> Stored | None:
    """As `store_reads`, on a connection in no transaction: the statement is its own, committed when it returns."""
    [result] = await conn.fetch(_STORE_READS, *_store_arguments(rows, images, hotlists_seen))
    return _stored(result)


def _stored(result: Any) -> Stored | None:
    return Stored(set(result["new_ids"]), set(result["clashed"])) if result["matched_now"] else None


def _store_arguments(rows: Sequence[ReadRow], images: Sequence[Image], hotlists_seen: int) -> list[Any]:
    """The store's arguments: the reads' row values, the change they were matched against, the images' columns."""
    columns = [list(column) for column in zip(*images, strict=True)] or [[] for _ in range(5)]  # no image
    times = [row.read.captured_at for row in rows] or [datetime.now(UTC)]  # none: every late preview skipped
    return [_row_values(rows), hotlists_seen, *columns, min(times) - CLASH_WINDOW, max(times) + CLASH_WINDOW]


def _row_values(rows: Sequence[ReadRow]) -> list[tuple[Any, ...]]:
    """One value of the insert's row type a read (tuples: asyncpg takes a list in an array for a nested array)."""
    # one row value a read, not one array a column: asyncpg encodes each array element apart, so 37 arrays
    # cost 20-22 µs a read of a 1,000-read insert where one array of rows costs 14-15 (docs/capacity.md)
    out = []
    for row in rows:
        value = row.values()
        # each read's few encoded columns by their own encoders: no dispatch on a column's name and type for
        # every value, no second pass over the rows (docs/capacity.md, issue 31)
        for i, encode in _ENCODERS:
            if value[i] is not None:
                value[i] = encode(value[i])
        out.append(tuple(value))
    return out


# most reads carry no candidates and an empty vehicle: their documents need no trip through the encoder
# (two json.dumps of empty values were 2.2 of a batched read's ~35 µs of Python work in records)
_EMPTY_JSON: dict[type, str] = {list: "[]", dict: "{}"}


def _encode_flags(value: list[str]) -> str:
    # an array literal, each label quoted: joined by commas and split again, a label holding a comma
    # became two and an empty one none (ReadIn refuses only controls in a label). Migration 0011's note
    # that flags travel comma-joined was so when it was written; the type's attribute is text either way
    if not value:
        return "{}"  # most reads: no label to quote
    return "{" + ",".join('"' + f.replace("\\", "\\\\").replace('"', '\\"') + '"' for f in value) + "}"


def _encode_json(value: Any) -> str:
    return (not value and _EMPTY_JSON.get(type(value))) or json.dumps(value)


# the position and encoder of each encoded column, in the insert's order
_ENCODERS: tuple[tuple[int, Callable[[Any], str]], ...] = tuple(
    (i, _encode_flags if INSERT_COLUMNS[i] == "flags" else _encode_json) for i in _ENCODED
)


# B2: a held copy (its partition purged) answers only a case one of its active holds was made for; search,
# read detail and image all ask it this one way
HELD_FOR_CASE = (
    "EXISTS (SELECT 1 FROM legal_holds h WHERE h.hold_id = ANY(held_reads.hold_ids) AND h.status = 'active' "
    "AND h.case_number = :held_case)"
)


def _kept_for_case() -> str:
    """B5 with B2, as search asks it (repository/search.py): a live read that matched no hotlist and was captured
    before `:unmatched_before` (NULL: no cap) is there only because a hold keeps it, so it answers that hold's case
    (`:held_case`) alone."""
    # retention's repository builds on this module: its rule of what a hold keeps is imported when needed
    from services.records.retention.repository import HELD_BY

    return (
        "(CAST(:unmatched_before AS timestamptz) IS NULL OR r.hotlist_hit OR r.captured_at >= :unmatched_before "
        f"OR EXISTS (SELECT 1 FROM legal_holds h WHERE h.case_number = :held_case AND {HELD_BY}))"
    )


async def get_read(
    session: AsyncSession, *, read_id: str, case_number: str | None, unmatched_before: datetime | None = None
) -> Read | None:
    """The newest version of a read, by id; a held copy only for a case one of its active holds names, and so a
    read only a hold keeps past the B5 cap (`unmatched_before`)."""
    result = await session.execute(
        text(
            f"SELECT * FROM reads r WHERE read_id = CAST(:id AS uuid) AND {_kept_for_case()} "
            "ORDER BY version DESC LIMIT 1"
        ),
        {"id": read_id, "unmatched_before": unmatched_before, "held_case": case_number},
    )
    row = result.first()
    if row is None and case_number is not None:  # a held copy, kept apart after its partition was purged
        row = (
            await session.execute(
                text(f"SELECT * FROM held_reads WHERE read_id = CAST(:id AS uuid) AND {HELD_FOR_CASE} LIMIT 1"),
                {"id": read_id, "held_case": case_number},
            )
        ).first()
    # a held copy's own columns (hold_ids, held_at) are not the read's: the model leaves them out
    return Read.model_validate(dict(row._mapping)) if row else None


async def get_image(
    session: AsyncSession,
    *,
    read_id: str,
    kind: str | None,
    case_number: str | None,
    unmatched_before: datetime | None = None,
) -> StoredImage | None:
    """One image of a read: the requested kind, or the plate crop first; a held copy's only for its hold's case,
    and so the image of a read only a hold keeps past the B5 cap (`unmatched_before`)."""
    tables = {
        "read_images": "TRUE"
        if unmatched_before is None
        else "EXISTS (SELECT 1 FROM reads r WHERE r.read_id = i.read_id AND r.captured_at = i.captured_at "
        f"AND {_kept_for_case()})"
    }
    if case_number is not None:  # held copies after their partition was purged
        tables["held_read_images"] = (
            "EXISTS (SELECT 1 FROM held_reads WHERE held_reads.read_id = i.read_id "
            f"AND held_reads.captured_at = i.captured_at AND {HELD_FOR_CASE})"
        )
    for table, visible in tables.items():
        result = await session.execute(
            text(
                f"SELECT read_id, captured_at, kind, content_type, data FROM {table} i "
                "WHERE read_id = CAST(:id AS uuid) AND (CAST(:kind AS text) IS NULL OR kind = :kind) "
                f"AND {visible} ORDER BY (kind = 'plate') DESC, kind LIMIT 1"
            ),
            {"id": read_id, "kind": kind, "held_case": case_number, "unmatched_before": unmatched_before},
        )
        row = result.first()
        if row is not None:
            return StoredImage.model_validate(dict(row._mapping))
    return None


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


# A read's versions from `:id` back to the first (corrections, G3): `chain(id)`, for a statement to follow with
# its own SELECT or UPDATE. Versions share the read's capture time (`:captured`), so each step stays in one
# partition.
VERSION_CHAIN = (
    "WITH RECURSIVE chain(id) AS (SELECT CAST(:id AS uuid) UNION SELECT r.supersedes FROM reads r "
    "JOIN chain c ON r.read_id = c.id AND r.captured_at = :captured WHERE r.supersedes IS NOT NULL) "
)

# the flag the gateway puts on a vendor's preview read (an OpenALPR group's, before its final)
PREVIEW_FLAG = "vendor_preview"
# a preview's store and the store of the final replacing it each take this lock on the preview's id (its hash
# the pair's second key), so the two are ordered when they come at once: the second sees what the first did
PREVIEW_LOCK = 7215006


async def lock_previews(session: AsyncSession, *, ids: Sequence[str]) -> None:
    """Take the preview lock of each id for the transaction, in one order, so two stores never wait in a cycle."""
    if not ids:
        return
    await session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(:key, k)) FROM (SELECT DISTINCT hashtext(id) AS k "
            "FROM unnest(CAST(:ids AS text[])) AS id ORDER BY k) AS ordered"
        ),
        {"key": PREVIEW_LOCK, "ids": list(ids)},
    )


async def replaced_among(session: AsyncSession, *, preview_ids: Sequence[str]) -> set[str]:
    """The previews among these whose final is already stored: a late one is not stored beside its final."""
    if not preview_ids:
        return set()
    result = await session.execute(
        text("SELECT read_id::text FROM replaced_previews WHERE read_id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": list(preview_ids)},
    )
    return {r[0] for r in result}


async def drop_superseded_previews(session: AsyncSession, *, replaced: Sequence[tuple[str, datetime]]) -> None:
    """Remove vendor preview reads (and their images) that a final read has replaced, given each with its final's
    capture time, and remember their ids, so that a preview arriving after its final is not stored (0013)."""
    if not replaced:
        return
    await session.execute(
        text(
            "WITH remembered AS (INSERT INTO replaced_previews (read_id, captured_at) "
            "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:at AS timestamptz[])) ON CONFLICT (read_id) DO NOTHING), "
            "gone AS (DELETE FROM reads r WHERE read_id = ANY(CAST(:ids AS uuid[])) AND :flag = ANY(flags) "
            # a preview an alert still points at stays: the alert's image and evidence (alerts/repository.py)
            "AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.read_id = r.read_id) RETURNING read_id, captured_at) "
            "DELETE FROM read_images i USING gone WHERE i.read_id = gone.read_id AND i.captured_at = gone.captured_at"
        ),
        {"ids": [i for i, _ in replaced], "at": [at for _, at in replaced], "flag": PREVIEW_FLAG},
    )
