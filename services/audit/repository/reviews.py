"""SQL of the audit unit's own tables: samples, their searches, findings, completeness checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_sample(session: AsyncSession, *, sample: dict[str, Any], items: Sequence[dict[str, Any]]) -> None:
    """Record a drawn sample with its seed and parameters, then its searches in order."""
    await session.execute(
        text(
            "INSERT INTO audit_samples (sample_id, seed, period_start, period_end, size, stratum_size, "
            "population, drawn_by, drawn_at) VALUES (:sample_id, :seed, :period_start, :period_end, :size, "
            ":stratum_size, :population, :drawn_by, :drawn_at)"
        ),
        sample,
    )
    if items:
        await session.execute(
            text(
                "INSERT INTO audit_sample_items (sample_id, position, event_id, stratum) "
                "VALUES (:sample_id, :position, :event_id, :stratum)"
            ),
            list(items),
        )


async def get_sample(session: AsyncSession, *, sample_id: str) -> dict[str, Any] | None:
    row = (await session.execute(text("SELECT * FROM audit_samples WHERE sample_id = :id"), {"id": sample_id})).first()
    return dict(row._mapping) if row else None


async def sample_items(session: AsyncSession, *, sample_id: str) -> list[dict[str, Any]]:
    """A sample's searches in drawn order, with who searched what and when."""
    rows = await session.execute(
        text(
            "SELECT i.event_id, i.stratum, r.actor_sub, r.occurred_at, coalesce(r.plate, '') AS plate_query "
            "FROM audit_sample_items i JOIN access_records r ON r.event_id = i.event_id "
            "WHERE i.sample_id = :id ORDER BY i.position"
        ),
        {"id": sample_id},
    )
    return [dict(r._mapping) for r in rows]


async def insert_finding(session: AsyncSession, *, finding: dict[str, Any]) -> None:
    await session.execute(
        text(
            "INSERT INTO audit_findings (finding_id, sample_id, event_id, verdict, notes, auditor_sub, recorded_at) "
            "VALUES (:finding_id, :sample_id, :event_id, :verdict, :notes, :auditor_sub, :recorded_at)"
        ),
        finding,
    )


async def sample_findings(session: AsyncSession, *, sample_id: str) -> list[dict[str, Any]]:
    """Every finding of a sample, oldest first; a later one on the same search supersedes it."""
    rows = await session.execute(
        text("SELECT * FROM audit_findings WHERE sample_id = :id ORDER BY recorded_at, finding_id"),
        {"id": sample_id},
    )
    return [dict(r._mapping) for r in rows]


async def insert_completeness(
    session: AsyncSession, *, day: date, ok: bool, gateway: str, audit_log: str, differences: str
) -> None:
    await session.execute(
        text(
            "INSERT INTO completeness_checks (day, ok, gateway, audit_log, differences) VALUES (:day, :ok, :g, :a, :d)"
        ),
        {"day": day, "ok": ok, "g": gateway, "a": audit_log, "d": differences},
    )


async def completeness_checked(session: AsyncSession, *, day: date) -> bool:
    """Whether the daily check of `day` has run."""
    row = await session.execute(text("SELECT 1 FROM completeness_checks WHERE day = :d LIMIT 1"), {"d": day})
    return row.first() is not None
