"""All SQL of legal holds: the hold rows, their held copies, and the link from a search's case to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.contracts.holds import HoldCreate
from services.records.retention.repository import HELD_BY

_HOLD = (
    "SELECT hold_id::text AS hold_id, case_number, justification, status, review_date, requester_sub, "
    "requester_name, approver_sub, approver_name, read_ids::text[] AS read_ids, plate, window_since, "
    "window_until, created_at, decided_at, ended_at, end_reason, "
    "(SELECT count(*) FROM held_reads r WHERE h.hold_id = ANY(r.hold_ids)) AS held_copies FROM legal_holds h"
)


async def insert_hold(session: AsyncSession, *, hold_id: str, hold: HoldCreate, plate: str | None) -> None:
    s = hold.selection
    await session.execute(
        text(
            "INSERT INTO legal_holds (hold_id, case_number, justification, requester_sub, requester_name, "
            "review_date, read_ids, plate, window_since, window_until) VALUES (CAST(:id AS uuid), :case, :why, "
            ":sub, :name, :review, CAST(:ids AS uuid[]), :plate, :since, :until)"
        ),
        {
            "id": hold_id,
            "case": hold.case_number,
            "why": hold.justification,
            "sub": hold.requester_sub,
            "name": hold.requester_name,
            "review": hold.review_date,
            "ids": s.read_ids,
            "plate": plate,
            "since": s.since if plate else None,
            "until": s.until if plate else None,
        },
    )


async def get_hold(session: AsyncSession, *, hold_id: str, lock: bool = False) -> dict[str, Any] | None:
    sql = f"{_HOLD} WHERE h.hold_id = CAST(:id AS uuid)" + (" FOR UPDATE OF h" if lock else "")
    row = (await session.execute(text(sql), {"id": hold_id})).first()
    return dict(row._mapping) if row else None


async def list_holds(
    session: AsyncSession, *, status: str | None, case_number: str | None, before: str | None, limit: int
) -> list[dict[str, Any]]:
    """Holds newest first, of one status or case when named, older than the hold `before` when named."""
    rows = await session.execute(
        text(
            f"{_HOLD} WHERE (CAST(:status AS text) IS NULL OR h.status = :status) "
            "AND (CAST(:case AS text) IS NULL OR h.case_number = :case) "
            "AND (CAST(:before AS uuid) IS NULL OR (h.created_at, h.hold_id) < (SELECT b.created_at, b.hold_id "
            "FROM legal_holds b WHERE b.hold_id = CAST(:before AS uuid))) "
            "ORDER BY h.created_at DESC, h.hold_id DESC LIMIT :limit"
        ),
        {"status": status, "case": case_number, "before": before, "limit": limit},
    )
    return [dict(r._mapping) for r in rows]


async def set_decision(
    session: AsyncSession, *, hold_id: str, status: str, approver_sub: str, approver_name: str | None, now: datetime
) -> None:
    await session.execute(
        text(
            "UPDATE legal_holds SET status = :status, approver_sub = :sub, approver_name = :name, decided_at = :now "
            "WHERE hold_id = CAST(:id AS uuid)"
        ),
        {"id": hold_id, "status": status, "sub": approver_sub, "name": approver_name, "now": now},
    )


async def set_ended(session: AsyncSession, *, hold_id: str, reason: str, now: datetime) -> None:
    await session.execute(
        text(
            "UPDATE legal_holds SET status = 'released', ended_at = :now, end_reason = :reason "
            "WHERE hold_id = CAST(:id AS uuid)"
        ),
        {"id": hold_id, "reason": reason, "now": now},
    )


async def attach_held_copies(session: AsyncSession, *, hold_id: str) -> int:
    """A newly approved hold also keeps copies another hold already moved out of the partitions."""
    result = await session.execute(
        text(
            "UPDATE held_reads r SET hold_ids = array_append(r.hold_ids, h.hold_id) FROM legal_holds h "
            f"WHERE h.hold_id = CAST(:id AS uuid) AND NOT (h.hold_id = ANY(r.hold_ids)) AND {HELD_BY}"
        ),
        {"id": hold_id},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def case_has_active_hold(session: AsyncSession, *, case_number: str) -> bool:
    row = await session.execute(
        text("SELECT 1 FROM legal_holds WHERE case_number = :case AND status = 'active' LIMIT 1"),
        {"case": case_number},
    )
    return row.first() is not None
