"""All SQL of the gateway: personnel, failures, cameras and their photographs, approvals and the access tally."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, bindparam, text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.gateway.models import Approval, Camera, Person, TrainingRecord, UserClass


async def get_person(session: AsyncSession, *, sub: str) -> Person | None:
    return await session.get(Person, sub)


async def get_user_class(session: AsyncSession, *, name: str | None) -> UserClass | None:
    return await session.get(UserClass, name) if name else None


async def get_person_and_class(session: AsyncSession, *, sub: str) -> tuple[Person | None, UserClass | None]:
    """A person and their user class in one round trip: every request of a person asks for both."""
    query = (
        select(Person, UserClass)
        .join(UserClass, col(UserClass.name) == col(Person.user_class), isouter=True)
        .where(col(Person.sub) == sub)
    )
    row = (await session.exec(query)).first()
    return (row[0], row[1]) if row else (None, None)


async def list_persons(session: AsyncSession) -> list[Person]:
    return list((await session.exec(select(Person).order_by(col(Person.sub)))).all())


async def save(session: AsyncSession, obj: Any) -> None:
    session.add(obj)
    await session.flush()


async def touch_person(session: AsyncSession, *, sub: str, now: datetime) -> None:
    """Record use, at most once a minute per person, to keep the hot path cheap."""
    await session.execute(
        text(
            "UPDATE persons SET last_active_at = :now WHERE sub = :sub "
            "AND (last_active_at IS NULL OR last_active_at < CAST(:now AS timestamptz) - interval '1 minute')"
        ),
        {"sub": sub, "now": now},
    )


async def record_auth_failure(
    session: AsyncSession, *, sub: str, reason: str, now: datetime, window_s: int, token_digest: str | None = None
) -> int:
    """Store a failed authentication; return the distinct tokens that failed in the last `window_s` seconds.

    Every attempt stays as evidence, but a token replayed counts once: five replays of one expired token
    are one failure of its owner, not five.
    """
    await session.execute(
        text(
            "INSERT INTO auth_failures (sub, reason, failed_at, token_digest) "
            "VALUES (:sub, :reason, :now, :token_digest)"
        ),
        {"sub": sub, "reason": reason, "now": now, "token_digest": token_digest},
    )
    return int(
        (
            await session.execute(
                text(
                    "SELECT count(DISTINCT coalesce(token_digest, id::text)) FROM auth_failures WHERE sub = :sub "
                    "AND failed_at > CAST(:now AS timestamptz) - CAST(:window_s AS integer) * interval '1 second' "
                    "AND failed_at > coalesce((SELECT failures_cleared_at FROM persons WHERE sub = :sub), "
                    "'-infinity')"
                ),
                {"sub": sub, "now": now, "window_s": window_s},
            )
        ).scalar_one()
    )


async def set_status(session: AsyncSession, *, sub: str, status: str, reason: str | None) -> None:
    await session.execute(
        text("UPDATE persons SET status = :status, status_reason = :reason WHERE sub = :sub"),
        {"sub": sub, "status": status, "reason": reason},
    )


async def get_camera_by_credential(session: AsyncSession, *, credential_id: str) -> Camera | None:
    return (await session.exec(select(Camera).where(Camera.credential_id == credential_id))).first()


async def get_camera(session: AsyncSession, *, camera_id: str) -> Camera | None:
    return await session.get(Camera, camera_id)


async def list_cameras(session: AsyncSession) -> list[Camera]:
    return list((await session.exec(select(Camera).order_by(col(Camera.camera_id)))).all())


async def mark_cameras_seen(session: AsyncSession, *, seen: dict[str, datetime]) -> None:
    for camera_id, moment in seen.items():
        await session.execute(
            text("UPDATE cameras SET last_seen_at = greatest(last_seen_at, :t) WHERE camera_id = :id"),
            {"t": moment, "id": camera_id},
        )


async def count_refused_camera(session: AsyncSession, *, camera_id: str) -> None:
    await session.execute(
        text("UPDATE cameras SET refused_count = refused_count + 1 WHERE camera_id = :id"), {"id": camera_id}
    )


async def note_frame(session: AsyncSession, *, frame_id: str, agency: str, camera_id: str, kept_days: int) -> None:
    """Which camera posted a photograph (once, whatever the resends); rows past `kept_days` go in the same
    statement (an index range scan that finds nothing on most posts)."""
    await session.execute(
        text(
            "WITH pruned AS (DELETE FROM frames WHERE accepted_at < clock_timestamp() - make_interval(days => :kept))"
            " INSERT INTO frames (frame_id, agency, camera_id) VALUES (:id, :agency, :camera)"
            " ON CONFLICT (frame_id) DO NOTHING"
        ).bindparams(bindparam("kept", type_=Integer)),
        {"id": frame_id, "agency": agency, "camera": camera_id, "kept": kept_days},
    )


async def camera_posted_frame(
    session: AsyncSession, *, frame_id: str, agency: str, camera_id: str, kept_days: int
) -> bool:
    """Whether this camera posted this photograph within the last `kept_days`."""
    found = await session.execute(
        text(
            "SELECT 1 FROM frames WHERE frame_id = :id AND agency = :agency AND camera_id = :camera"
            " AND accepted_at >= clock_timestamp() - make_interval(days => :kept)"
        ).bindparams(bindparam("kept", type_=Integer)),
        {"id": frame_id, "agency": agency, "camera": camera_id, "kept": kept_days},
    )
    return found.first() is not None


async def get_approval(session: AsyncSession, *, approval_id: str) -> Approval | None:
    try:
        return await session.get(Approval, uuid.UUID(approval_id))
    except ValueError:
        return None


async def tally_access(session: AsyncSession, *, day: date, event_type: str, delta: int = 1) -> None:
    """A5: the gateway's own count of data accesses, compared daily with the audit log."""
    await session.execute(
        text(
            "INSERT INTO access_tally (day, event_type, count) VALUES (:d, :t, :n) "
            "ON CONFLICT (day, event_type) DO UPDATE SET count = access_tally.count + :n"
        ),
        {"d": day, "t": event_type, "n": delta},
    )


async def list_training(session: AsyncSession, *, sub: str) -> list[TrainingRecord]:
    query = select(TrainingRecord).where(TrainingRecord.sub == sub).order_by(col(TrainingRecord.completed_at))
    return list((await session.exec(query)).all())


async def suspend_lapsed(session: AsyncSession, *, now: datetime, inactive_days: int) -> list[tuple[str, str]]:
    """D2/D3 sweep: active people whose training expired or who were unused too long become suspended."""
    rows = await session.execute(
        text(
            "UPDATE persons SET status = 'suspended', status_reason = CASE "
            "WHEN training_expires_at IS NULL OR training_expires_at <= :now THEN 'training_expired' "
            "ELSE 'inactive' END "
            "WHERE status = 'active' AND (training_expires_at IS NULL OR training_expires_at <= :now "
            "OR last_active_at < CAST(:now AS timestamptz) - make_interval(days => :days)) "
            "RETURNING sub, status_reason"
        ),
        {"now": now, "days": inactive_days},
    )
    return [(r[0], r[1]) for r in rows]


async def release_lock(session: AsyncSession, *, sub: str, now: datetime) -> None:
    """D4: an admin's release; the failures before it stay as evidence but no longer count."""
    await session.execute(
        text(
            "UPDATE persons SET status = 'active', status_reason = NULL, failures_cleared_at = :now, "
            "last_active_at = :now WHERE sub = :sub"
        ),
        {"sub": sub, "now": now},
    )


async def list_user_classes(session: AsyncSession) -> list[UserClass]:
    return list((await session.exec(select(UserClass).order_by(col(UserClass.name)))).all())


async def list_approvals(session: AsyncSession, *, status: str | None, requester_sub: str | None) -> list[Approval]:
    query = select(Approval).order_by(col(Approval.created_at).desc()).limit(500)
    if status:
        query = query.where(Approval.status == status)
    if requester_sub:
        query = query.where(Approval.requester_sub == requester_sub)
    return list((await session.exec(query)).all())


async def tally_of_day(session: AsyncSession, *, day: date) -> dict[str, int]:
    """A5: the gateway's count of one day's data accesses by event type."""
    rows = await session.execute(text("SELECT event_type, count FROM access_tally WHERE day = :d"), {"d": day})
    return {r[0]: int(r[1]) for r in rows}
