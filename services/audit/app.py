"""Audit: FastAPI app whose lifespan runs the AUDIT writer and the persisted confirmations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from libs.common.bus import Bus
from libs.common.consumer import BatchConsumer
from libs.common.db import UnitOfWork, create_engine
from libs.common.streams import AUDIT_WRITER
from libs.common.telemetry import setup_tracing
from libs.common.web import Runtime, install_common
from services.audit.handlers import AuditHandlers
from services.audit.settings import AuditSettings


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    """Build the audit app; nothing connects until the lifespan starts."""
    cfg = settings or AuditSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(cfg.database_url.get_secret_value(), schema="audit")
        bus = await Bus.connect(
            cfg.nats_url,
            name="audit",
            user=cfg.nats_user,
            password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
        )
        handlers = AuditHandlers(cfg, UnitOfWork(engine), bus)
        await handlers.register()
        consumer = BatchConsumer(bus, AUDIT_WRITER, handlers.write_batch, batch=cfg.writer_batch)
        consumer.start()
        app.state.runtime = Runtime("audit", cfg, bus, engine, handlers.uow, {"handlers": handlers})
        try:
            yield
        finally:
            await consumer.stop()
            await bus.close()
            await engine.dispose()

    app = FastAPI(title="ALPR audit", lifespan=lifespan)
    install_common(app, "audit")
    setup_tracing(app, "audit", cfg)
    return app
