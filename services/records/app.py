"""Records: FastAPI app (operator endpoints) whose lifespan owns the engine, the bus and the consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.bus import Bus
from libs.common.consumer import BatchConsumer
from libs.common.db import UnitOfWork, create_engine
from libs.common.streams import RECORDS_READS
from libs.common.telemetry import setup_tracing
from libs.common.web import Runtime, install_common
from services.records.alerts.handlers import AlertHandlers, AlertRaiser
from services.records.corrections.handlers import CorrectionHandlers
from services.records.figures import FigureHandlers
from services.records.handlers import RecordsHandlers
from services.records.holds.handlers import HoldHandlers
from services.records.hotlists.follower import HotlistFollower
from services.records.hotlists.handlers import HotlistHandlers
from services.records.lookalike import DEFAULT_LOOKALIKE_SPEC, LookalikeClasses
from services.records.retention.handlers import RetentionHandlers
from services.records.retention.job import PurgeJob
from services.records.settings import RecordsSettings


def create_app(settings: RecordsSettings | None = None) -> FastAPI:
    """Build the records app; nothing connects until the lifespan starts."""
    cfg = settings or RecordsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(cfg.database_url.get_secret_value(), schema="records")
        bus = await Bus.connect(
            cfg.nats_url,
            name="records",
            user=cfg.nats_user,
            password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
        )
        classes = LookalikeClasses.parse(cfg.lookalike_classes or DEFAULT_LOOKALIKE_SPEC)
        handlers = RecordsHandlers(cfg, UnitOfWork(engine), bus, classes)
        await handlers.create_partitions_ahead()
        await handlers.register()
        purge = PurgeJob(cfg, handlers.uow, bus)
        await purge.register()
        await RetentionHandlers(purge).register()
        # every change asked of records commits only once its access record is persisted
        changes = ChangeRecorder(handlers.uow, AuditTrail(bus, persist_wait_ms=cfg.audit_persist_wait_ms))
        await HoldHandlers(handlers.uow, changes, bus, purge).register()
        await CorrectionHandlers(changes, bus, classes).register()
        await FigureHandlers(cfg, handlers.uow, bus).register()
        purge.start()
        follower = HotlistFollower(handlers.uow, bus, classes)
        await follower.start()  # the index is loaded before the first read is consumed
        handlers.alerts = AlertRaiser(bus, follower)
        await HotlistHandlers(handlers.uow, changes, bus, follower, agency=cfg.agency).register()
        await AlertHandlers(handlers.uow, changes, bus).register()
        ingest, prepare = handlers.ingest_batch, handlers.prepare
        # each pipeline fetches and parses its next batch while its current one waits on PostgreSQL
        consumers = [
            BatchConsumer(
                bus,
                RECORDS_READS,
                ingest,
                batch=cfg.ingest_fetch,
                prefetch=True,
                prepare=prepare,
                gather_s=cfg.ingest_gather_ms / 1000,
            )
            for _ in range(max(1, cfg.ingest_pipelines))
        ]
        for consumer in consumers:
            consumer.start()
        app.state.runtime = Runtime(
            "records", cfg, bus, engine, handlers.uow, {"handlers": handlers, "hotlists": follower, "purge": purge}
        )
        try:
            yield
        finally:
            await purge.stop()
            for consumer in consumers:
                await consumer.stop()
            await follower.stop()
            await bus.close()
            await engine.dispose()

    app = FastAPI(title="ALPR records", lifespan=lifespan)
    install_common(app, "records")
    setup_tracing(app, "records", cfg)
    return app
