"""SQL of reading records for people: auditors' filters, flags, the searches of a period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.audit.models import AccessRecord, SearchRow

_RECORD_COLUMNS = "seq, event_id, event_type, occurred_at, recorded_at, actor, payload, prev_hash, hash"


async def find_records(
    session: AsyncSession,
    *,
    actor_sub: str | None,
    plate: str | None,
    case_number: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after_seq: int = 0,
) -> list[AccessRecord]:
    """Records matching an auditor's filters, oldest first, after `after_seq` (a page's cursor)."""
    sql = (
        f"SELECT {_RECORD_COLUMNS} FROM access_records WHERE (CAST(:sub AS text) IS NULL OR actor_sub = :sub) "
        "AND (CAST(:plate AS text) IS NULL OR plate = upper(:plate)) "
        "AND (CAST(:case AS text) IS NULL OR case_number = :case) "
        "AND (CAST(:etype AS text) IS NULL OR event_type = :etype) "
        "AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since) "
        "AND (CAST(:until AS timestamptz) IS NULL OR occurred_at < :until) AND seq > :after ORDER BY seq LIMIT :limit"
    )
    rows = await session.execute(
        text(sql),
        {
            "sub": actor_sub,
            "plate": plate,
            "case": case_number,
            "etype": event_type,
            "since": since,
            "until": until,
            "limit": limit,
            "after": after_seq,
        },
    )
    return [AccessRecord(**r._mapping) for r in rows]


async def flagged_attempts(session: AsyncSession, *, since: datetime | None, limit: int) -> list[AccessRecord]:
    """Refusals the gateway flagged for admins and auditors (A3), newest first."""
    rows = await session.execute(
        text(
            f"SELECT {_RECORD_COLUMNS} FROM access_records "
            "WHERE event_type = 'access_denied' "
            "AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since) "
            "AND (payload::jsonb -> 'details' ->> 'flag_admins_and_auditors') = 'true' "
            "ORDER BY seq DESC LIMIT :limit"
        ),
        {"since": since, "limit": limit},
    )
    return [AccessRecord(**r._mapping) for r in rows]


async def search_summaries(session: AsyncSession, *, since: datetime, until: datetime) -> list[SearchRow]:
    """The granted searches of a period, as the sample and the anomaly flags read them."""
    rows = await session.execute(
        text(
            "SELECT event_id, actor_sub, occurred_at, coalesce(plate, '') AS plate, "
            "coalesce((payload::jsonb) -> 'query' ->> 'match', 'exact') AS match FROM access_records "
            "WHERE event_type = 'search' AND occurred_at >= :s AND occurred_at < :u "
            "AND coalesce((payload::jsonb) ->> 'outcome', 'granted') = 'granted' ORDER BY seq"
        ),
        {"s": since, "u": until},
    )
    return [SearchRow(**r._mapping) for r in rows]


async def count_by_day(session: AsyncSession, *, day: date, event_types: Sequence[str]) -> dict[str, int]:
    """Granted records of one UTC day, by event type (A5)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    rows = await session.execute(
        text(
            "SELECT event_type, count(*) FROM access_records WHERE event_type = ANY(:t) "
            "AND occurred_at >= :s AND occurred_at < :e "
            "AND coalesce((payload::jsonb) ->> 'outcome', 'granted') = 'granted' GROUP BY event_type"
        ),
        {"t": list(event_types), "s": start, "e": start + timedelta(days=1)},
    )
    return {r[0]: int(r[1]) for r in rows}


async def find_record(session: AsyncSession, *, event_id: str) -> AccessRecord | None:
    """One stored record with every column an auditor is shown."""
    row = (
        await session.execute(
            text(f"SELECT {_RECORD_COLUMNS} FROM access_records WHERE event_id = :id"), {"id": event_id}
        )
    ).first()
    return AccessRecord(**row._mapping) if row else None
