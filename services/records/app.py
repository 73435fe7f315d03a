"""Records: FastAPI app (operator endpoints) whose lifespan owns the engine, the bus and the consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from libs.common.bus import Bus
from libs.common.consumer import BatchConsumer
from libs.common.db import UnitOfWork, create_engine
from libs.common.streams import RECORDS_READS
from libs.common.telemetry import setup_tracing
from libs.common.web import Runtime, install_common
from services.records.handlers import RecordsHandlers
from services.records.lookalike import DEFAULT_LOOKALIKE_SPEC, LookalikeClasses
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
        consumer = BatchConsumer(bus, RECORDS_READS, handlers.ingest_batch, batch=cfg.ingest_batch)
        consumer.start()
        app.state.runtime = Runtime("records", cfg, bus, engine, handlers.uow, {"handlers": handlers})
        try:
            yield
        finally:
            await consumer.stop()
            await bus.close()
            await engine.dispose()

    app = FastAPI(title="ALPR records", lifespan=lifespan)
    install_common(app, "records")
    setup_tracing(app, "records", cfg)
    return app
