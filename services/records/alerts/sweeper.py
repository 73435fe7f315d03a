"""Alerts stored but never published: published again, so no officer misses one because a publish failed.

Ingest publishes a batch's alerts after its commit, and a correction's after its own; a bus failure or a dying
process between the two leaves the alert stored, listed (`ALERT_LIST`) and not pushed. Ingest republishes when
READS redelivers the batch; a correction has no redelivery, nor has a batch whose ack already went out. This
sweep catches every such alert: ALERTS deduplicates by alert id, so an alert published twice (two replicas
sweeping, or a publish that had in fact arrived) reaches subscribers once within the stream's window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from libs.common.db import UnitOfWork
from services.records.alerts import repository
from services.records.alerts.flows import AlertRaiser

log = logging.getLogger(__name__)

# older than the normal path takes to publish (a commit, then one publish): younger ones are left to it
SETTLED = timedelta(seconds=30)
BATCH = 100


class UnpublishedAlerts:
    """Every `interval_s`, publish the alerts left unpublished for longer than SETTLED."""

    def __init__(self, uow: UnitOfWork, raiser: AlertRaiser, *, interval_s: float = 15.0) -> None:
        self.uow = uow
        self.raiser = raiser
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._periodic())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def sweep(self, now: datetime | None = None) -> int:
        """Publish one batch of settled unpublished alerts; returns how many were published."""
        before = (now or datetime.now(UTC)) - SETTLED
        async with self.uow() as session:
            left = await repository.unpublished_before(session, before=before, limit=BATCH)
        if left:
            log.warning("publishing %d alerts left unpublished: %s", len(left), [a.alert_id for a in left])
            await self.raiser.publish(self.uow, left)
        return len(left)

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                while await self.sweep() == BATCH:  # a backlog goes out in batches, without waiting between
                    pass
            except Exception:
                log.exception("the sweep of unpublished alerts failed; it runs again")
