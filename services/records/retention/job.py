"""The purge job: periodic in the records lifespan, on demand over NATS; one runner across replicas."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from libs.common import metrics
from libs.common.audit_trail import AuditTrail, not_committed
from libs.common.bus import Bus
from libs.common.contracts.audit import AuditEvent
from libs.common.contracts.holds import PurgeReport, PurgeRequest
from libs.common.db import UnitOfWork
from libs.common.errors import AlprError, Conflict, InvalidInput
from libs.common.tasks import cancelled
from services.records.alerts import repository as alerts
from services.records.frames import repository as frames
from services.records.frames.service import frame_row_cutoff, reads_purged_before
from services.records.repository import partition_name
from services.records.retention import repository
from services.records.retention.service import (
    PurgePlan,
    certificate_event,
    certificate_payload,
    has_effect,
    order_fields,
    plan_purge,
)
from services.records.settings import RecordsSettings

log = logging.getLogger(__name__)
# how long an order on demand waits for its certificate to be stored before answering without it
CERTIFICATE_WAIT_MS = 5000


class PurgeJob:
    """Drops what retention no longer allows, keeps what holds keep, and certifies it in the audit log."""

    def __init__(self, settings: RecordsSettings, uow: UnitOfWork, bus: Bus) -> None:
        self.settings = settings
        self.uow = uow
        self.bus = bus
        self.trail = AuditTrail(bus, persist_wait_ms=settings.audit_persist_wait_ms)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._periodic())

    async def stop(self) -> None:
        await cancelled(self._task)

    async def _periodic(self) -> None:
        while True:
            # the first run waits a full interval, so a restart loop cannot turn into a purge loop
            await asyncio.sleep(self.settings.purge_interval_s)
            try:
                report = await self.run(datetime.now(UTC))
                metrics.PURGE_RUNS.labels("completed" if report.ran else "skipped").inc()
            except Exception:
                metrics.PURGE_RUNS.labels("failed").inc()
                log.exception("the periodic purge failed; it will run again")

    async def on_demand(self, request: PurgeRequest) -> PurgeReport:
        """Run now; a caller may only name a moment in the past (which purges less), never one ahead."""
        real_now = datetime.now(UTC)
        now = request.now or real_now
        if now > real_now:
            raise InvalidInput("a purge cannot run ahead of time", code="purge_in_future")
        report = await self.run(now, forced=True)
        if report.certificate_id:
            await self.await_persisted(report.certificate_id)
        return report

    async def run(self, now: datetime, *, forced: bool = False, order: AuditEvent | None = None) -> PurgeReport:
        """One purge in one transaction, then publish its certificate (and any left from before).

        A person's `order` is refused while another purge runs, and is recorded before anything is purged.
        """
        try:
            done = await self._purge(now, forced=forced or order is not None, order=order)
        except Exception as exc:
            if order is not None and not isinstance(exc, Conflict):
                # the order's record may be in the log: it is followed by one saying nothing was purged
                reason = "record_unconfirmed" if getattr(exc, "code", None) == "audit_unavailable" else "purge_failed"
                await self.trail.record_quietly(not_committed(order, reason, error=type(exc).__name__))
            raise
        if done is None:
            return PurgeReport(ran=False)
        report, plan = done
        # apart from the drops: this lock on the map comes after none on reads, so no cycle with a search
        async with self.uow() as session:
            await repository.drop_plate_day_months(session, before=plan.cutoff.astimezone(UTC).date())
        await self._forget_plate_days(plan)
        # a posted photograph's outcome names its plates: gone after a week, or once none of its reads is kept
        async with self.uow() as session:
            gone = await frames.purge_frames(
                session,
                received_before=frame_row_cutoff(now),
                captured_before=reads_purged_before(plan.cutoff, plan.unmatched),
            )
        if gone:
            log.info("purged %d frame outcomes", gone)
        await self.publish_certificates()
        return report

    async def _purge(
        self, now: datetime, *, forced: bool, order: AuditEvent | None
    ) -> tuple[PurgeReport, PurgePlan] | None:
        """The purge's one transaction; None when another runner holds the lock (an order is refused then)."""
        async with self.uow() as session:
            if not await repository.try_purge_lock(session):
                if order is not None:
                    raise Conflict("a purge is running; try again when it has finished", code="purge_running")
                log.info("another replica is purging; skipping this run")
                return None
            if order is not None:
                # only the lock is held yet: no read is touched until the order's record is persisted
                await self.trail.record(order)
            report = PurgeReport(ran=True)
            report.holds_lapsed = await repository.lapse_holds(session, today=now.date(), now=now)
            report.held_released, released_images = await repository.release_unheld(session)
            plan = plan_purge(now, await repository.partition_days(session), self.settings)
            report.cutoff = plan.cutoff
            columns = await repository.held_columns(session)
            held_images = 0
            if plan.unmatched:
                report.unmatched_purged, images = await repository.cap_unmatched(
                    session, since=plan.unmatched[0], before=plan.unmatched[1]
                )
                report.images_purged += images
            if plan.straddle_day:
                held, images = await repository.copy_held(
                    session, day=plan.straddle_day, before=plan.cutoff, columns=columns
                )
                report.reads_held, held_images = report.reads_held + held, held_images + images
                gone, gone_images = await repository.delete_before(session, day=plan.straddle_day, before=plan.cutoff)
                report.reads_purged, report.images_purged = (
                    report.reads_purged + gone,
                    report.images_purged + gone_images,
                )
            for day in plan.drop_days:
                held, images = await repository.copy_held(session, day=day, before=None, columns=columns)
                report.reads_held, held_images = report.reads_held + held, held_images + images
            # each held read before the cutoff has its copy now: the other reads' alerts go with the reads;
            # before the drops, so no alert's row lock is waited on under the drops' exclusive lock on reads
            alerts_purged = await alerts.purge_alerts(session, before=plan.cutoff)
            await repository.forget_replaced_previews(session, before=plan.cutoff)
            # drops last: DROP takes an exclusive lock on the parent, held only until the commit just after
            for day in plan.drop_days:
                gone, gone_images = await repository.drop_day(session, day=day)
                report.reads_purged, report.images_purged = (
                    report.reads_purged + gone,
                    report.images_purged + gone_images,
                )
                report.partitions_dropped.append(partition_name("reads", day))
            if forced or has_effect(report) or any(alerts_purged.values()):
                report.certificate_id = str(uuid.uuid4())
                payload = certificate_payload(
                    report,
                    plan,
                    self.settings,
                    run_at=now.isoformat(),
                    held_images=held_images,
                    released_images=released_images,
                    alerts_purged=alerts_purged,
                    **order_fields(order),
                )
                await repository.add_certificate(session, event_id=report.certificate_id, payload=payload)
        return report, plan

    async def _forget_plate_days(self, plan: PurgePlan) -> None:
        """The plate-day map keeps no day past the cutoff, nor a plate-day whose last read the B5 cap took."""
        first = plan.cutoff.astimezone(UTC).date()
        async with self.uow() as session:
            await repository.forget_plate_days_before(session, before=first)
        if plan.unmatched is None:
            return
        day = first
        while day <= plan.unmatched[1].astimezone(UTC).date():
            async with self.uow() as session:
                await repository.forget_unread_plate_days(session, day=day)
            day += timedelta(days=1)

    async def publish_certificates(self) -> int:
        """Publish every certificate not yet on AUDIT; the message id makes a republish harmless."""
        async with self.uow() as session:
            pending = await repository.unpublished_certificates(session)
        published = 0
        for event_id, payload in pending:
            event = certificate_event(event_id, payload)
            try:
                await self.trail.publish(event)
            except AlprError:
                log.warning("a deletion certificate is not on AUDIT yet; the next run retries")
                break
            async with self.uow() as session:
                await repository.mark_published(session, event_id=event_id, now=datetime.now(UTC))
            published += 1
        return published

    async def await_persisted(self, event_id: str) -> None:
        try:
            await self.trail.persisted(event_id, wait_ms=CERTIFICATE_WAIT_MS)
        except AlprError:
            log.warning("the deletion certificate %s is published but not yet persisted", event_id)
