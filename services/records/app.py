"""Records: FastAPI app (operator endpoints) whose lifespan owns the engine, the bus and the consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.bus import Bus
from libs.common.consumer import BatchConsumer
from libs.common.db import UnitOfWork, create_engine
from libs.common.heap import settle_after_startup
from libs.common.streams import RECORDS_FRAMES, RECORDS_READS
from libs.common.telemetry import setup_tracing
from libs.common.web import ServiceState, install_common
from services.records.alerts.flows import AlertRaiser
from services.records.alerts.handlers import AlertDesk
from services.records.alerts.sweeper import UnpublishedAlerts
from services.records.corrections.handlers import CorrectionDesk
from services.records.figures import FigureDesk
from services.records.flows import IngestFlow, IngestPipeline
from services.records.frames.flows import FrameFlow
from services.records.frames.handlers import FrameDesk
from services.records.handlers import Desks, register
from services.records.holds.handlers import HoldDesk
from services.records.hotlists.exchange import PartnerListDesk
from services.records.hotlists.follower import HotlistFollower
from services.records.hotlists.handlers import HotlistDesk
from services.records.hotlists.reconcile import PartnerListReconciler
from services.records.lookalike import DEFAULT_LOOKALIKE_SPEC, LookalikeClasses
from services.records.lookups import ReadLookups
from services.records.retention.handlers import PurgeOrderDesk
from services.records.retention.job import PurgeJob
from services.records.settings import RecordsSettings


@dataclass(kw_only=True)
class RecordsState(ServiceState):
    """What the records process owns, built in its lifespan."""

    settings: RecordsSettings
    uow: UnitOfWork
    ingest: IngestFlow
    hotlists: HotlistFollower
    purge: PurgeJob
    partner_lists: PartnerListReconciler


def create_app(settings: RecordsSettings | None = None) -> FastAPI:
    """Build the records app; nothing connects until the lifespan starts."""
    cfg = settings or RecordsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            cfg.database_url.get_secret_value(),
            schema="records",
            pool_size=cfg.db_pool_size,
            max_overflow=cfg.db_max_overflow,
        )
        bus = await Bus.connect(
            cfg.nats_url,
            name="records",
            user=cfg.nats_user,
            password=cfg.nats_password.get_secret_value() if cfg.nats_password else None,
        )
        classes = LookalikeClasses.parse(cfg.lookalike_classes or DEFAULT_LOOKALIKE_SPEC)
        uow = UnitOfWork(engine)
        purge = PurgeJob(cfg, uow, bus)
        follower = HotlistFollower(uow, bus, classes)
        await follower.start()  # the index is loaded before the first read is consumed
        alerts = AlertRaiser(bus, follower)  # one raiser: a read's alert and a correction's are raised alike
        ingest = IngestFlow(cfg, uow, bus, classes, alerts)
        await ingest.create_partitions_ahead()
        # every change asked of records commits only once its access record is persisted
        changes = ChangeRecorder(uow, AuditTrail(bus, persist_wait_ms=cfg.audit_persist_wait_ms))
        desks = Desks(
            reads=ReadLookups(cfg, uow, classes),
            alerts=AlertDesk(uow, changes, active_retention_days=cfg.active_retention_days),
            hotlists=HotlistDesk(uow, changes, follower),
            partner_lists=PartnerListDesk(uow, changes, follower, agency=cfg.agency),
            holds=HoldDesk(uow, changes, purge),
            corrections=CorrectionDesk(changes, classes, alerts),
            purge_orders=PurgeOrderDesk(purge),
            figures=FigureDesk(cfg, uow),
            frames=FrameDesk(uow),
        )
        await register(bus, desks)
        purge.start()
        unpublished = UnpublishedAlerts(uow, alerts)
        unpublished.start()
        # a partner's list matches only while an agreement in force grants it hotlists:write
        partner_lists = PartnerListReconciler(changes, bus, follower)
        await partner_lists.start()
        # each pipeline fetches and parses its next batch while its current one waits on PostgreSQL
        pipelines = [IngestPipeline(ingest) for _ in range(max(1, cfg.ingest_pipelines))]
        consumers = [
            BatchConsumer(
                bus,
                RECORDS_READS,
                pipeline.ingest,
                batch=cfg.ingest_fetch,
                prefetch=True,
                prepare=pipeline.prepare,
                gather_s=cfg.ingest_gather_ms / 1000,
            )
            for pipeline in pipelines
        ]
        # photographs: each frame's plates found and read by the recognizer, then stored as READS reads are
        consumers.append(
            BatchConsumer(bus, RECORDS_FRAMES, FrameFlow(cfg, uow, bus, ingest).read_batch, batch=cfg.frames_fetch)
        )
        for consumer in consumers:
            consumer.start()
        app.state.runtime = RecordsState(
            service="records",
            bus=bus,
            engine=engine,
            settings=cfg,
            uow=uow,
            ingest=ingest,
            hotlists=follower,
            purge=purge,
            partner_lists=partner_lists,
        )
        settle_after_startup()
        try:
            yield
        finally:
            await purge.stop()
            await unpublished.stop()
            await partner_lists.stop()
            for consumer in consumers:
                await consumer.stop()
            await follower.stop()
            await bus.close()
            await uow.close()  # the connections kept for ingest's statements alone, back to the pool
            await engine.dispose()

    app = FastAPI(title="ALPR records", lifespan=lifespan)
    install_common(app, "records")
    setup_tracing(app, "records", cfg)
    return app
