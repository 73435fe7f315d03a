"""Data accesses: answered only once recorded, and counted by the gateway itself for the daily check (A5).

The count is the gateway's own, kept apart from the audit log it is compared with: each answered access
adds one to its type's count for the day it was recorded. A record that fails takes its count back, since
nothing was answered; one that another service writes (a partner query, an alert verification, an auditor's
sample) is counted once that service answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from libs.common.audit_trail import AuditTrail
from libs.common.contracts.audit import AuditEvent
from libs.common.web import Runtime
from services.gateway import repository

log = logging.getLogger(__name__)


async def record_and_count(rt: Runtime, audit: AuditTrail, *events: AuditEvent) -> None:
    """Record each access and count it, side by side; no data leaves unless every record is persisted."""
    counted, *recorded = await asyncio.gather(
        count_accesses(rt, *events), *(audit.record(e) for e in events), return_exceptions=True
    )
    failed = [e for e, r in zip(events, recorded, strict=True) if isinstance(r, BaseException)]
    if failed:
        if not isinstance(counted, BaseException):
            await _uncount(rt, failed)
        raise next(r for r in recorded if isinstance(r, BaseException))
    if isinstance(counted, BaseException):
        raise counted


async def count_accesses(rt: Runtime, *events: AuditEvent, sign: int = 1) -> None:
    """Add the accesses to the gateway's tally, by the UTC day and type of their records."""
    if not events:
        return
    assert rt.uow is not None
    by_day_and_type = Counter((e.occurred_at.date(), e.event_type.value) for e in events)
    async with rt.uow() as session:
        for (day, event_type), n in sorted(by_day_and_type.items()):
            await repository.tally_access(session, day=day, event_type=event_type, delta=sign * n)


async def _uncount(rt: Runtime, events: list[AuditEvent]) -> None:
    try:
        await count_accesses(rt, *events, sign=-1)
    except Exception:  # the self-check then reports the difference, which is what it is for
        log.warning("%d accesses were counted but not recorded, and the count could not be taken back", len(events))
