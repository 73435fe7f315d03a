"""Alerts stored but never published: published again, so no officer misses one because a publish failed.

Ingest publishes a batch's alerts after its commit, and a correction's after its own; a bus failure or a dying
process between the two leaves the alert stored, listed (`ALERT_LIST`) and not pushed. Ingest republishes when
READS redelivers the batch; a correction has no redelivery, nor has a batch whose ack already went out. This
sweep catches every such alert: ALERTS deduplicates by alert id, so an alert published twice (two replicas
sweeping, or a publish that had in fact arrived) reaches subscribers once within the stream's window. An
alert unpublished for more than a day is no longer pushed as news; it stays listed.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from libs.common.contracts.alerts import AlertMessage
from libs.common.db import UnitOfWork
from libs.common.tasks import cancelled
from services.records.alerts import repository
from services.records.alerts.flows import AlertRaiser

log = logging.getLogger(__name__)

# older than the normal path takes to publish (a commit, then one publish): younger ones are left to it
SETTLED = timedelta(seconds=30)
# older than this an alert is no longer pushed as news (it stays listed): officers act on fresh ones
STALE = timedelta(hours=24)
PAGE = 100


class UnpublishedAlerts:
    """Every `interval_s`, publish the alerts left unpublished for longer than SETTLED and less than STALE."""

    def __init__(self, uow: UnitOfWork, raiser: AlertRaiser, *, interval_s: float = 15.0) -> None:
        self.uow = uow
        self.raiser = raiser
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._periodic())

    async def stop(self) -> None:
        await cancelled(self._task)

    async def sweep(self, now: datetime | None = None) -> int:
        """Publish every settled, unstale unpublished alert, one at a time; returns how many went out.

        One that fails (its body no longer an alert, or its publish refused) is logged and passed over until the
        next sweep, so it never holds back the ones behind it."""
        now = now or datetime.now(UTC)
        published, after = 0, None
        while True:
            async with self.uow() as session:
                page = await repository.unpublished_between(
                    session, since=now - STALE, before=now - SETTLED, after=after, limit=PAGE
                )
            for raised_at, alert_id, body in page:
                after = (raised_at, alert_id)
                try:
                    await self.raiser.publish(self.uow, [AlertMessage.model_validate(body)])
                except Exception:
                    log.exception("alert %s is stored but could not be published; the next sweep tries again", alert_id)
                    continue
                log.warning("published alert %s, left unpublished since %s", alert_id, raised_at.isoformat())
                published += 1
            if len(page) < PAGE:
                return published

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except Exception:
                log.exception("the sweep of unpublished alerts failed; it runs again")
