"""All SQL of frames: a posted photograph's outcome row (migration 0010), asked for and purged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.contracts.frames import FrameStatus
from services.records.frames.service import Outcome


async def insert_outcome(
    session: AsyncSession,
    *,
    frame_id: str,
    agency: str,
    camera_id: str,
    received_at: datetime,
    captured_at: datetime,
    outcome: Outcome,
) -> bool:
    """Store a frame's outcome once; False when the frame was stored before (its first outcome stands)."""
    inserted = await session.execute(
        text(
            "INSERT INTO frames (frame_id, agency, camera_id, status, read_ids, plates, error_code, received_at, "
            "captured_at) VALUES (:id, :agency, :camera, :status, :read_ids, :plates, :code, :received, :captured) "
            "ON CONFLICT (frame_id) DO NOTHING RETURNING frame_id"
        ),
        {
            "id": frame_id,
            "agency": agency,
            "camera": camera_id,
            "status": outcome.status,
            "read_ids": outcome.read_ids,
            "plates": outcome.plates,
            "code": outcome.error_code,
            "received": received_at,
            "captured": captured_at,
        },
    )
    return inserted.first() is not None


async def is_stored(session: AsyncSession, *, frame_id: str) -> bool:
    """Whether this frame's outcome (and its reads) were committed already: a redelivery is then done."""
    found = await session.execute(text("SELECT 1 FROM frames WHERE frame_id = :id"), {"id": frame_id})
    return found.first() is not None


async def get_status(session: AsyncSession, *, frame_id: str, agency: str, camera_id: str) -> FrameStatus | None:
    """The outcome of a frame posted by this camera; None when there is none (or another camera posted it)."""
    row = (
        await session.execute(
            text(
                "SELECT frame_id, status, read_ids, plates, error_code, completed_at FROM frames "
                "WHERE frame_id = :id AND agency = :agency AND camera_id = :camera"
            ),
            {"id": frame_id, "agency": agency, "camera": camera_id},
        )
    ).first()
    if row is None:
        return None
    return FrameStatus(
        frame_id=row.frame_id,
        status=row.status,
        read_ids=list(row.read_ids),
        plates=list(row.plates),
        error_code=row.error_code,
        completed_at=row.completed_at,
    )


async def purge_frames(session: AsyncSession, *, received_before: datetime, captured_before: datetime) -> int:
    """Delete frame rows received before `received_before`, and those none of whose reads is kept any more.

    Only frames captured before `captured_before` can have lost their reads (retention, B5's cap, an order);
    their reads are looked for in the day's partition alone (the capture time prunes the others), and a held
    copy still keeps its frame. Returns how many rows went.
    """
    result = await session.execute(
        text(
            "DELETE FROM frames f WHERE f.received_at < :received_before OR (f.status = 'read' "
            "AND f.captured_at < :captured_before AND NOT EXISTS (SELECT 1 FROM reads r "
            "WHERE r.captured_at = f.captured_at AND r.read_id = ANY(CAST(f.read_ids AS uuid[]))) "
            "AND NOT EXISTS (SELECT 1 FROM held_reads h "
            "WHERE h.captured_at = f.captured_at AND h.read_id = ANY(CAST(f.read_ids AS uuid[]))))"
        ),
        {"received_before": received_before, "captured_before": captured_before},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
