"""Data accesses: answered only once recorded, and counted by the gateway itself for the daily check (A5).

The count is the gateway's own, kept apart from the audit log it is compared with: each answered access
adds one to its type's count for the day it was recorded. A record that fails takes its count back, since
nothing was answered; one that another service writes (a partner query, an alert verification, an auditor's
sample) is counted once that service answers. `AccessTally._add` is the one place the count is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from libs.common.audit_trail import AuditTrail
from libs.common.contracts.audit import AuditEvent
from libs.common.db import UnitOfWork
from services.gateway import repository

log = logging.getLogger(__name__)


class AccessTally:
    """The gateway's count of the data accesses it answers, by UTC day and record type."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def record_and_count(self, audit: AuditTrail, *events: AuditEvent) -> None:
        """Record each access and count it, side by side; no data leaves unless every record is persisted."""
        counted, *recorded = await asyncio.gather(
            self._add(events), *(audit.record(e) for e in events), return_exceptions=True
        )
        failed = [e for e, r in zip(events, recorded, strict=True) if isinstance(r, BaseException)]
        if failed:
            if not isinstance(counted, BaseException):
                await self._uncount(failed)
            raise next(r for r in recorded if isinstance(r, BaseException))
        if isinstance(counted, BaseException):
            raise counted

    async def count_relayed(self, *events: AuditEvent) -> None:
        """Count accesses whose records another service persisted before it answered (sent with the request)."""
        await self._add(events)

    async def _add(self, events: tuple[AuditEvent, ...] | list[AuditEvent], sign: int = 1) -> None:
        if not events:
            return
        by_day_and_type = Counter((e.occurred_at.date(), e.event_type.value) for e in events)
        async with self._uow() as session:
            for (day, event_type), n in sorted(by_day_and_type.items()):
                await repository.tally_access(session, day=day, event_type=event_type, delta=sign * n)

    async def _uncount(self, events: list[AuditEvent]) -> None:
        try:
            await self._add(events, sign=-1)
        except Exception:  # the self-check then reports the difference, which is what it is for
            log.warning("%d accesses were counted but not recorded, and the count could not be taken back", len(events))
