"""Audit: FastAPI app whose lifespan runs the AUDIT writer, its checkpoints, the daily self-check and the
periodic verification of the log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.bus import Bus
from libs.common.contracts.auditing import CompletenessQuery
from libs.common.db import UnitOfWork, create_engine
from libs.common.tasks import cancelled
from libs.common.telemetry import setup_tracing
from libs.common.web import ServiceState, install_common
from services.audit import handlers, repository
from services.audit.flows import AuditWriter, writer_consumer
from services.audit.handlers import AuditorDesk, FigureDesk, RecordLookups
from services.audit.settings import AuditSettings
from services.audit.verify_job import VerifyJob

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class AuditState(ServiceState):
    """What the audit process owns, built in its lifespan: the log's writer and the audit unit's desk."""

    settings: AuditSettings
    uow: UnitOfWork
    writer: AuditWriter
    auditors: AuditorDesk
    verify_job: VerifyJob


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    """Build the audit app; nothing connects until the lifespan starts."""
    cfg = settings or AuditSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            cfg.database_url.get_secret_value(),
            schema="audit",
            pool_size=cfg.db_pool_size,
            max_overflow=cfg.db_max_overflow,
        )
        bus = await Bus.connect(
            cfg.nats_url,
            name="audit",
            user=cfg.nats_user,
            password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
        )
        uow = UnitOfWork(engine)
        writer = AuditWriter(cfg, uow, bus)
        # a sample or a finding commits only once the auditor's access record is persisted (by this service)
        changes = ChangeRecorder(uow, AuditTrail(bus, persist_wait_ms=cfg.audit_persist_wait_ms))
        auditors = AuditorDesk(cfg, changes, bus, writer)
        await writer.load_tree()
        await handlers.serve(bus, handlers.routes(writer, RecordLookups(uow), auditors, FigureDesk(uow)))
        consumer = writer_consumer(bus, writer, batch=cfg.writer_batch)
        consumer.start()
        tasks = [
            asyncio.create_task(_every(min(cfg.checkpoint_interval_s, 5.0), writer.checkpoint_tick)),
            asyncio.create_task(_every(cfg.completeness_check_s, lambda: _check_yesterday(uow, auditors))),
        ]
        verify_job = VerifyJob(uow, cfg.verification_keys(), bus=bus, interval_s=cfg.audit_verify_interval_s)
        app.state.runtime = state = AuditState(
            service="audit",
            bus=bus,
            engine=engine,
            settings=cfg,
            uow=uow,
            writer=writer,
            auditors=auditors,
            verify_job=verify_job,
        )
        verify_job.start(state.drain)  # ends at drain; a round in progress is cancelled (it only reads)
        try:
            yield
        finally:
            await verify_job.stop()
            for task in tasks:
                await cancelled(task)
            await consumer.stop()
            await bus.close()
            await engine.dispose()

    app = FastAPI(title="ALPR audit", lifespan=lifespan)
    install_common(app, "audit")
    setup_tracing(app, "audit", cfg)
    return app


async def _every(period_s: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run a job on a period; a failure is logged and the next period tries again."""
    while True:
        await asyncio.sleep(period_s)
        try:
            await job()
        except Exception as exc:
            log.warning("periodic audit job failed: %s", exc)


async def _check_yesterday(uow: UnitOfWork, auditors: AuditorDesk) -> None:
    """A5: once a day, compare yesterday's gateway tally with the records written; differences are logged."""
    day = (datetime.now(UTC) - timedelta(days=1)).date()
    async with uow() as session:
        if await repository.completeness_checked(session, day=day):
            return
    report = await auditors.completeness(CompletenessQuery(day=day))
    if not report.ok:
        log.error("audit completeness check of %s found differences: %s", day, report.differences)
