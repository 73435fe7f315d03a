"""SQL of the audit unit's own tables: samples, their searches, findings, completeness checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.audit.models import AuditFinding, AuditSample, AuditSampleItem, SampledSearchRow


async def insert_sample(session: AsyncSession, *, sample: AuditSample, items: Sequence[AuditSampleItem]) -> None:
    """Record a drawn sample with its seed and parameters, then its searches in order."""
    await session.execute(
        text(
            "INSERT INTO audit_samples (sample_id, seed, period_start, period_end, size, stratum_size, "
            "population, drawn_by, drawn_at) VALUES (:sample_id, :seed, :period_start, :period_end, :size, "
            ":stratum_size, :population, :drawn_by, :drawn_at)"
        ),
        sample.model_dump(),
    )
    if items:
        await session.execute(
            text(
                "INSERT INTO audit_sample_items (sample_id, position, event_id, stratum) "
                "VALUES (:sample_id, :position, :event_id, :stratum)"
            ),
            [item.model_dump() for item in items],
        )


async def get_sample(session: AsyncSession, *, sample_id: str) -> AuditSample | None:
    row = (await session.execute(text("SELECT * FROM audit_samples WHERE sample_id = :id"), {"id": sample_id})).first()
    return AuditSample(**row._mapping) if row else None


async def sample_items(session: AsyncSession, *, sample_id: str) -> list[SampledSearchRow]:
    """A sample's searches in drawn order, with who searched what and when."""
    rows = await session.execute(
        text(
            "SELECT i.event_id, i.stratum, r.actor_sub, r.occurred_at, coalesce(r.plate, '') AS plate_query "
            "FROM audit_sample_items i JOIN access_records r ON r.event_id = i.event_id "
            "WHERE i.sample_id = :id ORDER BY i.position"
        ),
        {"id": sample_id},
    )
    return [SampledSearchRow(**r._mapping) for r in rows]


async def insert_finding(session: AsyncSession, *, finding: AuditFinding) -> None:
    await session.execute(
        text(
            "INSERT INTO audit_findings (finding_id, sample_id, event_id, verdict, notes, auditor_sub, recorded_at) "
            "VALUES (:finding_id, :sample_id, :event_id, :verdict, :notes, :auditor_sub, :recorded_at)"
        ),
        finding.model_dump(),
    )


async def sample_findings(session: AsyncSession, *, sample_id: str) -> list[AuditFinding]:
    """Every finding of a sample, oldest first; a later one on the same search supersedes it."""
    rows = await session.execute(
        text("SELECT * FROM audit_findings WHERE sample_id = :id ORDER BY recorded_at, finding_id"),
        {"id": sample_id},
    )
    return [AuditFinding(**r._mapping) for r in rows]


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
