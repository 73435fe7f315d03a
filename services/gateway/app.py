"""Gateway: the one public door. Its lifespan owns the engine, the bus, the token verifier."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.bus import Bus
from libs.common.contracts.errors import ERROR_RESPONSES
from libs.common.db import UnitOfWork, create_engine
from libs.common.heap import settle_after_startup
from libs.common.proxies import believe_forwarded
from libs.common.tasks import cancelled
from libs.common.telemetry import setup_tracing
from libs.common.tokens import KeySource, StaticKeys, TokenVerifier
from libs.common.web import install_common
from services.gateway import repository
from services.gateway.api import (
    admin,
    agreements,
    alerts,
    approvals,
    audit,
    camera_frames,
    camera_posts,
    cameras,
    custodian,
    holds,
    hotlists,
    openapi,
    openapi_docs,
    partner,
    public,
    reads,
    searches,
)
from services.gateway.api.accesses import AccessTally
from services.gateway.api.door import InputDoor
from services.gateway.api.partner import PartnerKeys
from services.gateway.api.public.transparency import PageCache
from services.gateway.credentials import CameraCredentialCache
from services.gateway.handlers_tally import serve_tally
from services.gateway.identity_keys import ProviderKeys
from services.gateway.rate_budget import SharedBudget
from services.gateway.ratelimit import GatewayLimits
from services.gateway.read_bundles import LoneReads
from services.gateway.secret_failures import SecretFailures
from services.gateway.settings import GatewaySettings
from services.gateway.state import GatewayState

log = logging.getLogger(__name__)


class GatewayApp(FastAPI):
    """Camera posts, the gateway's one high-volume request, go to their own sub-application, which shares
    the common middleware and error mapping but not the route table of a hundred routes (api/camera_posts.py)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.camera_posts = camera_posts.camera_posts_app(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = getattr(self.state, "runtime", None)
        if runtime is not None and scope["type"] != "lifespan":
            believe_forwarded(scope, runtime.settings.trusted_proxies)  # the one decision of the client's address
        if camera_posts.camera_post(scope) is None:
            await super().__call__(scope, receive, send)
        else:
            await self.camera_posts(scope, receive, send)


def identity_keys(cfg: GatewaySettings) -> KeySource:
    """The identity provider's keys from the one source the settings name: the file (air-gapped sites),
    the JWKS URL, or the URL the issuer's discovery document names."""
    if cfg.oidc_jwks_path is not None:
        return StaticKeys.from_file(cfg.oidc_jwks_path)
    if cfg.oidc_jwks_url:
        return ProviderKeys(jwks_url=cfg.oidc_jwks_url, policy=cfg.oidc_fetch_policy)
    return ProviderKeys(issuer=cfg.oidc_issuer, policy=cfg.oidc_fetch_policy)


def token_verifier(cfg: GatewaySettings, keys: KeySource | None = None) -> TokenVerifier:
    """People's tokens: the identity provider's keys, a bounded lifetime, the development identity refused
    in production whatever the key source (as the settings refuse it at start-up)."""
    return TokenVerifier(
        keys or identity_keys(cfg),
        issuer=cfg.oidc_issuer,
        audience=cfg.oidc_audience,
        max_lifetime_s=cfg.max_token_lifetime_s,
        refuse_development=cfg.is_production,
    )


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """Build the gateway app; nothing connects until the lifespan starts."""
    cfg = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys = identity_keys(cfg)
        if isinstance(keys, ProviderKeys):
            await keys.start()  # a provider that is down is logged; the gateway starts (identity_keys.py)
        verifier = token_verifier(cfg, keys)
        engine = create_engine(
            cfg.database_url.get_secret_value(),
            schema="gateway",
            pool_size=cfg.db_pool_size,
            max_overflow=cfg.db_max_overflow,
        )
        bus = await Bus.connect(
            cfg.nats_url,
            name="gateway",
            user=cfg.nats_user,
            password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
        )
        uow = UnitOfWork(engine)
        audit = AuditTrail(bus, persist_wait_ms=cfg.audit_persist_wait_ms)
        camera_seen: dict[str, datetime] = {}
        app.state.runtime = GatewayState(
            service="gateway",
            bus=bus,
            engine=engine,
            settings=cfg,
            uow=uow,
            verifier=verifier,
            audit=audit,
            changes=ChangeRecorder(uow, audit),
            tally=AccessTally(uow),
            limits=GatewayLimits(cfg, budget=SharedBudget(engine)),
            secret_failures=SecretFailures(cfg),
            camera_credentials=CameraCredentialCache(cfg.camera_cache_s),
            camera_seen=camera_seen,
            lone_reads=LoneReads(bus, gap_s=cfg.read_bundle_gap_ms / 1000),
            partner_keys=PartnerKeys(),
            transparency=PageCache(),
        )
        await serve_tally(bus, uow)
        flusher = asyncio.create_task(_flush_camera_seen(uow, camera_seen))
        settle_after_startup()
        try:
            yield
        finally:
            await cancelled(flusher)
            await bus.close()
            await engine.dispose()
            if isinstance(keys, ProviderKeys):
                await keys.close()

    app = GatewayApp(
        title="ALPR gateway",
        version="1",
        description="The one door to ALPR data: every access is authorized, purpose-bound and audited.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        generate_unique_id_function=openapi.operation_id,
        docs_url=None,  # served from local assets below, not a CDN
        redoc_url=None,
    )
    openapi.install_openapi(app)
    openapi_docs.install_docs(app)
    install_common(app, "gateway")
    app.add_middleware(InputDoor)
    for area in (
        camera_frames,  # before camera_posts: its POST /v1/ingest/image is not the vendor route's {fmt}
        camera_posts,
        reads,
        searches,
        cameras,
        approvals,
        hotlists,
        alerts,
        holds,
        audit,
        admin,
        custodian,
        agreements,
        partner,
        public,
    ):
        app.include_router(area.router)
    setup_tracing(app, "gateway", cfg, own_server_spans=camera_posts.INGEST_PATHS)
    return app


async def _flush_camera_seen(uow: UnitOfWork, seen: dict[str, datetime]) -> None:
    """Cameras' last-seen times, written once a second instead of on every post."""
    while True:
        await asyncio.sleep(1.0)
        if not seen:
            continue
        batch = dict(seen)
        seen.clear()
        try:
            async with uow() as session:
                await repository.mark_cameras_seen(session, seen=batch)
        except Exception as exc:
            log.warning("could not record camera last-seen times: %s", exc)
