"""Retention rules: which days go, where the B5 cap falls, and what a deletion certificate says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.contracts.holds import PurgeReport
from libs.common.validation import retention_cutoff
from services.records.retention.repository import day_start
from services.records.settings import RecordsSettings

PURGE_ACTOR = Actor(kind="system", sub="records-retention", name="Records retention purge")


@dataclass(frozen=True)
class PurgePlan:
    cutoff: datetime
    drop_days: list[date]
    straddle_day: date | None
    unmatched: tuple[datetime, datetime] | None


def unmatched_cutoff(now: datetime, settings: RecordsSettings) -> datetime | None:
    """B5: reads that matched no hotlist leave the live database this early (backups keep them the margin)."""
    if settings.unmatched_retention_days is None:
        return None
    days = max(settings.unmatched_retention_days - settings.backup_margin_days, 1)
    return now - timedelta(days=days)


def plan_purge(now: datetime, days: list[date], settings: RecordsSettings) -> PurgePlan:
    """Whole days before the cutoff are dropped; the day the cutoff falls in loses its earlier reads.

    The B5 cap covers every day from the cutoff on, each pass, not only the days since the last pass: a
    camera may back-fill reads captured months ago (ingest takes anything inside retention), and one that
    landed behind an earlier pass would otherwise be kept until the 12-month cutoff. What a pass scans
    behind the mark is only the reads it kept (hits and held ones) and such late ones, so it stays small.
    """
    cutoff = retention_cutoff(now, settings.active_retention_days)
    drop = [d for d in days if day_start(d + timedelta(days=1)) <= cutoff]
    straddle = next((d for d in days if day_start(d) < cutoff < day_start(d + timedelta(days=1))), None)
    unmatched = None
    capped = unmatched_cutoff(now, settings)
    if capped is not None and capped > cutoff:
        unmatched = (cutoff, capped)
    return PurgePlan(cutoff=cutoff, drop_days=drop, straddle_day=straddle, unmatched=unmatched)


def certificate_payload(
    report: PurgeReport, plan: PurgePlan, settings: RecordsSettings, **extra: Any
) -> dict[str, Any]:
    """B3: the range purged and the counts purged and held, as the audit log keeps them."""
    rng: dict[str, Any] = {
        "captured_before": plan.cutoff.isoformat(),
        "partitions": report.partitions_dropped,
        "first_day": report.partitions_dropped[0][-8:] if report.partitions_dropped else None,
    }
    if plan.unmatched:
        rng["unmatched_since"] = plan.unmatched[0].isoformat()
        rng["unmatched_before"] = plan.unmatched[1].isoformat()
    return {
        "range": rng,
        "reads_purged": report.reads_purged,
        "images_purged": report.images_purged,
        "unmatched_purged": report.unmatched_purged,
        "reads_held": report.reads_held,
        "held_released": report.held_released,
        "holds_lapsed": report.holds_lapsed,
        "retention_days": settings.retention_days,
        "backup_window_days": settings.backup_window_days,
        "backup_margin_days": settings.backup_margin_days,
        "unmatched_retention_days": settings.unmatched_retention_days,
        **extra,
    }


def certificate_event(event_id: str, payload: dict[str, Any]) -> AuditEvent:
    """The deletion certificate as an audit event by the system itself."""
    purged = int(payload.get("reads_purged", 0)) + int(payload.get("unmatched_purged", 0))
    return AuditEvent(
        event_id=event_id,
        event_type=EventType.PURGE,
        occurred_at=datetime.fromisoformat(payload["run_at"]) if "run_at" in payload else datetime.now(UTC),
        actor=PURGE_ACTOR,
        query={"captured_before": payload["range"]["captured_before"]},
        result_count=purged,
        details=payload,
    )


def has_effect(report: PurgeReport) -> bool:
    return bool(
        report.partitions_dropped
        or report.reads_purged
        or report.unmatched_purged
        or report.held_released
        or report.holds_lapsed
    )


def order_fields(order: AuditEvent | None) -> dict[str, Any]:
    """What a certificate says of the person who ordered its purge: who, badge, reason, and the order's record."""
    if order is None:
        return {}
    who = order.actor
    return {
        "ordered_by": {"sub": who.sub, "name": who.name, "badge": who.badge, "agency": who.agency},
        "order_reason": order.details.get("reason"),
        "order_record": order.event_id,
    }
