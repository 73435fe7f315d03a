"""Sharing: FastAPI app whose lifespan owns the engine, the bus and the token keys for partner requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.bus import Bus
from libs.common.db import UnitOfWork, create_engine
from libs.common.oauth.keys import KeyRing
from libs.common.telemetry import setup_tracing
from libs.common.web import ServiceState, install_common
from services.sharing.figures import FigureHandlers
from services.sharing.handlers import AgreementDesk, LedgerDesk, PartnerDesk, register
from services.sharing.settings import SharingSettings


@dataclass(kw_only=True)
class SharingState(ServiceState):
    """What the sharing process owns, built in its lifespan."""

    settings: SharingSettings
    uow: UnitOfWork
    keyring: KeyRing
    partners: PartnerDesk
    agreements: AgreementDesk


def create_app(settings: SharingSettings | None = None) -> FastAPI:
    """Build the sharing app; nothing connects until the lifespan starts."""
    cfg = settings or SharingSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            cfg.database_url.get_secret_value(),
            schema="sharing",
            pool_size=cfg.db_pool_size,
            max_overflow=cfg.db_max_overflow,
        )
        bus = await Bus.connect(
            cfg.nats_url,
            name="sharing",
            user=cfg.nats_user,
            password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
        )
        uow = UnitOfWork(engine)
        keyring = cfg.keyring()
        # a staff change, and a share's ledger entry, commit only once the access record is persisted
        changes = ChangeRecorder(uow, AuditTrail(bus, persist_wait_ms=cfg.audit_persist_wait_ms))
        partners = PartnerDesk(cfg, changes, bus, keyring)
        agreements = AgreementDesk(changes, bus)
        await register(bus, partners, agreements, LedgerDesk(uow))
        await FigureHandlers(uow, bus).register()
        app.state.runtime = SharingState(
            service="sharing",
            bus=bus,
            engine=engine,
            settings=cfg,
            uow=uow,
            keyring=keyring,
            partners=partners,
            agreements=agreements,
        )
        try:
            yield
        finally:
            await bus.close()
            await engine.dispose()

    app = FastAPI(title="ALPR sharing", lifespan=lifespan)
    install_common(app, "sharing")
    setup_tracing(app, "sharing", cfg)
    return app
