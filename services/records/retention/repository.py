"""All SQL of the purge: partitions past the cutoff, held copies, the B5 cap and the certificate outbox."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.records.repository import existing_partition_days, partition_name

# one purge runner at a time across replicas; a key of its own (7215002 is the audit writer's)
PURGE_LOCK = 7215004

# a read is held while an active hold names it or its plate and window (a correction joins its hold's ids)
HELD_BY = (
    "h.status = 'active' AND (r.read_id = ANY(h.read_ids) "
    "OR (h.plate IS NOT NULL AND r.plate = h.plate AND r.captured_at >= h.window_since "
    "AND r.captured_at < h.window_until))"
)


def _held_in(reads: str, bound: str) -> str:
    """Held reads of one partition, each arm on an index (by id, by plate and time), ids of all its holds."""
    return (
        "SELECT read_id, captured_at, array_agg(DISTINCT hold_id) AS ids FROM ("
        f"SELECT r.read_id, r.captured_at, h.hold_id FROM legal_holds h JOIN {reads} r "
        f"ON r.read_id = ANY(h.read_ids) WHERE h.status = 'active' {bound} UNION ALL "
        f"SELECT r.read_id, r.captured_at, h.hold_id FROM legal_holds h JOIN {reads} r ON r.plate = h.plate "
        "AND r.captured_at >= h.window_since AND r.captured_at < h.window_until "
        f"WHERE h.status = 'active' AND h.plate IS NOT NULL {bound}) AS held GROUP BY read_id, captured_at"
    )


async def try_purge_lock(session: AsyncSession) -> bool:
    """Take the cluster-wide purge lock for this transaction, or learn that another runner has it."""
    return bool((await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PURGE_LOCK})).scalar())


async def partition_days(session: AsyncSession) -> list[date]:
    return sorted(await existing_partition_days(session))


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def held_columns(session: AsyncSession) -> list[str]:
    """Columns a held copy takes from its read (whatever later migrations added to both)."""
    rows = await session.execute(
        text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = 'held_reads' AND column_name IN (SELECT column_name FROM "
            "information_schema.columns WHERE table_schema = current_schema() AND table_name = 'reads') "
            "ORDER BY ordinal_position"
        )
    )
    return [r[0] for r in rows]


async def copy_held(
    session: AsyncSession, *, day: date, before: datetime | None, columns: list[str]
) -> tuple[int, int]:
    """Copy the held reads of one day's partition (and their images) out of it; returns the counts."""
    reads, images = partition_name("reads", day), partition_name("read_images", day)
    cols = ", ".join(columns)
    bound = "AND r.captured_at < :before" if before else ""
    copied = await session.execute(
        text(
            f"WITH held AS ({_held_in(reads, bound)}) "
            f"INSERT INTO held_reads ({cols}, hold_ids) SELECT {', '.join(f'r.{c}' for c in columns)}, "
            f"held.ids FROM {reads} r JOIN held USING (read_id, captured_at) "
            "ON CONFLICT (read_id, captured_at) DO UPDATE SET hold_ids = ARRAY(SELECT DISTINCT unnest("
            "held_reads.hold_ids || excluded.hold_ids)) RETURNING read_id"
        ),
        {"before": before} if before else {},
    )
    n_reads = len(copied.all())
    result = await session.execute(
        text(
            f"INSERT INTO held_read_images (read_id, captured_at, kind, content_type, data) "
            f"SELECT i.read_id, i.captured_at, i.kind, i.content_type, i.data FROM {images} i "
            f"JOIN held_reads h ON h.read_id = i.read_id AND h.captured_at = i.captured_at "
            f"ON CONFLICT DO NOTHING"
        )
    )
    return n_reads, int(result.rowcount or 0)  # type: ignore[attr-defined]


async def drop_day(session: AsyncSession, *, day: date) -> tuple[int, int]:
    """Drop one day's partitions of reads and images; returns what they held."""
    reads, images = partition_name("reads", day), partition_name("read_images", day)
    n_reads = (await session.execute(text(f"SELECT count(*) FROM {reads}"))).scalar_one()
    n_images = (await session.execute(text(f"SELECT count(*) FROM {images}"))).scalar_one()
    await session.execute(text(f"DROP TABLE IF EXISTS {reads}, {images}"))
    return int(n_reads), int(n_images)


async def drop_plate_day_months(session: AsyncSession, *, before: date) -> list[str]:
    """Drop the plate-day map's months that end on or before `before`: every day of them has been dropped."""
    rows = await session.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'read_plate_days'::regclass"
        )
    )
    dropped = []
    for (name,) in rows.all():
        month = datetime.strptime(name[-6:], "%Y%m").date()
        if (month + timedelta(days=32)).replace(day=1) <= before:
            await session.execute(text(f"DROP TABLE IF EXISTS {name}"))
            dropped.append(name)
    return dropped


async def forget_plate_days_before(session: AsyncSession, *, before: date) -> int:
    """Forget the plate-days before the cutoff's day: the map says "plate P was read on day D", which B1 bounds
    as it bounds the reads (a month partition is dropped only once all of it is past the cutoff). Those days
    hold no read and can get none (ingest refuses them), so no lock is needed."""
    forgotten = await session.execute(text("DELETE FROM read_plate_days WHERE day < :before"), {"before": before})
    return int(forgotten.rowcount or 0)  # type: ignore[attr-defined]


async def forget_unread_plate_days(session: AsyncSession, *, day: date) -> int:
    """Forget the plate-days of `day` that no read stands for any more (the B5 cap took the last one): no read
    left whose plate, or our own reading of it, is that plate (the map holds both since migration 0006).

    The map is locked against writers first, so a read stored meanwhile is seen by the check, never left
    unmapped; one day a transaction, so ingest waits on one day's check at a time, not on the whole range.
    """
    await session.execute(text("LOCK TABLE read_plate_days IN SHARE ROW EXCLUSIVE MODE"))
    unread = await session.execute(
        text(
            "DELETE FROM read_plate_days p WHERE p.day = :day AND NOT EXISTS ("
            "SELECT 1 FROM reads r WHERE (r.plate = p.plate OR r.our_plate = p.plate) "
            "AND r.captured_at >= (p.day::timestamp AT TIME ZONE 'UTC') "
            "AND r.captured_at < ((p.day + 1)::timestamp AT TIME ZONE 'UTC'))"
        ),
        {"day": day},
    )
    return int(unread.rowcount or 0)  # type: ignore[attr-defined]


async def delete_before(session: AsyncSession, *, day: date, before: datetime) -> tuple[int, int]:
    """In the partition the cutoff falls in, delete the reads captured before it (held ones were copied)."""
    reads, images = partition_name("reads", day), partition_name("read_images", day)
    return await _delete_with_images(
        session, f"DELETE FROM {reads} WHERE captured_at < :before", images, {"before": before}
    )


async def forget_replaced_previews(session: AsyncSession, *, before: datetime) -> int:
    """Forget the ids of previews replaced by finals captured before the cutoff: a late preview of theirs is
    refused at ingest as past retention, so the id has nothing left to stop (migration 0013)."""
    forgotten = await session.execute(
        text("DELETE FROM replaced_previews WHERE captured_at < :before"), {"before": before}
    )
    return int(forgotten.rowcount or 0)  # type: ignore[attr-defined]


async def cap_unmatched(session: AsyncSession, *, since: datetime, before: datetime) -> tuple[int, int]:
    """B5: delete reads that matched no hotlist and no hold, captured in [since, before)."""
    return await _delete_with_images(
        session,
        "DELETE FROM reads r WHERE r.captured_at >= :since AND r.captured_at < :before AND NOT r.hotlist_hit "
        f"AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE {HELD_BY})",
        "read_images",
        {"since": since, "before": before},
    )


async def _delete_with_images(
    session: AsyncSession, delete_reads: str, images: str, params: dict[str, Any]
) -> tuple[int, int]:
    row = (
        await session.execute(
            text(
                f"WITH gone AS ({delete_reads} RETURNING read_id, captured_at), "
                f"gone_images AS (DELETE FROM {images} i USING gone WHERE i.read_id = gone.read_id "
                "AND i.captured_at = gone.captured_at RETURNING 1) "
                "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM gone_images)"
            ),
            params,
        )
    ).one()
    return int(row[0]), int(row[1])


async def lapse_holds(session: AsyncSession, *, today: date, now: datetime) -> list[str]:
    """Active holds whose review date has passed without renewal lapse."""
    rows = await session.execute(
        text(
            "UPDATE legal_holds SET status = 'lapsed', ended_at = :now, end_reason = 'review date passed' "
            "WHERE status = 'active' AND review_date < :today RETURNING hold_id::text"
        ),
        {"today": today, "now": now},
    )
    return [r[0] for r in rows]


async def release_unheld(session: AsyncSession) -> tuple[int, int]:
    """Delete held copies that no active hold keeps any more (ended, lapsed)."""
    return await _delete_with_images(
        session,
        "DELETE FROM held_reads r WHERE NOT EXISTS (SELECT 1 FROM legal_holds h "
        "WHERE h.hold_id = ANY(r.hold_ids) AND h.status = 'active')",
        "held_read_images",
        {},
    )


async def add_certificate(session: AsyncSession, *, event_id: str, payload: dict[str, Any]) -> None:
    await session.execute(
        text("INSERT INTO purge_certificates (event_id, payload) VALUES (CAST(:id AS uuid), CAST(:p AS jsonb))"),
        {"id": event_id, "p": json.dumps(payload, default=str)},
    )


async def unpublished_certificates(session: AsyncSession) -> list[tuple[str, dict[str, Any]]]:
    rows = await session.execute(
        text(
            "SELECT event_id::text, payload FROM purge_certificates WHERE published_at IS NULL "
            "ORDER BY created_at LIMIT 100"
        )
    )
    return [(r[0], r[1] if isinstance(r[1], dict) else json.loads(r[1])) for r in rows]


async def mark_published(session: AsyncSession, *, event_id: str, now: datetime) -> None:
    await session.execute(
        text("UPDATE purge_certificates SET published_at = :now WHERE event_id = CAST(:id AS uuid)"),
        {"id": event_id, "now": now},
    )


_CERTIFICATE = "SELECT event_id::text AS event_id, created_at, published_at, payload FROM purge_certificates"


async def list_certificates(
    session: AsyncSession, *, since: datetime | None, until: datetime | None, before: str | None, limit: int
) -> list[dict[str, Any]]:
    """Certificates issued in [since, until), newest first, older than the certificate `before` when named."""
    rows = await session.execute(
        text(
            f"{_CERTIFICATE} c WHERE (CAST(:since AS timestamptz) IS NULL OR c.created_at >= :since) "
            "AND (CAST(:until AS timestamptz) IS NULL OR c.created_at < :until) "
            "AND (CAST(:before AS uuid) IS NULL OR (c.created_at, c.event_id) < (SELECT b.created_at, b.event_id "
            "FROM purge_certificates b WHERE b.event_id = CAST(:before AS uuid))) "
            "ORDER BY c.created_at DESC, c.event_id DESC LIMIT :limit"
        ),
        {"since": since, "until": until, "before": before, "limit": limit},
    )
    return [_certificate_row(r._mapping) for r in rows]


async def get_certificate(session: AsyncSession, *, event_id: str) -> dict[str, Any] | None:
    row = (await session.execute(text(f"{_CERTIFICATE} WHERE event_id = CAST(:id AS uuid)"), {"id": event_id})).first()
    return _certificate_row(row._mapping) if row else None


def _certificate_row(row: Any) -> dict[str, Any]:
    payload = row["payload"]
    return {**row, "payload": payload if isinstance(payload, dict) else json.loads(payload)}
