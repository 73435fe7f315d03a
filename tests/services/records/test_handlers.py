"""Records' route table: each endpoint answered once, by a handler taking and giving that endpoint's models."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from nats.errors import NoRespondersError

from libs.common.audit_trail import AuditTrail, ChangeRecorder
from services.records.alerts.handlers import AlertDesk
from services.records.corrections.handlers import CorrectionDesk
from services.records.figures import FigureDesk
from services.records.frames.handlers import FrameDesk
from services.records.handlers import Desks, routes
from services.records.holds.handlers import HoldDesk
from services.records.hotlists.exchange import PartnerListDesk
from services.records.hotlists.handlers import HotlistDesk
from services.records.lookups import ReadLookups
from services.records.retention.handlers import PurgeOrderDesk

pytestmark = pytest.mark.asyncio(loop_scope="session")


def desks_of(rt: Any) -> Desks:
    """The desks a records process builds, on the running records service's own pieces."""
    changes = ChangeRecorder(rt.uow, AuditTrail(rt.bus, persist_wait_ms=rt.settings.audit_persist_wait_ms))
    classes = rt.ingest.classes
    return Desks(
        reads=ReadLookups(rt.settings, rt.uow, classes),
        alerts=AlertDesk(rt.uow, changes, active_retention_days=rt.settings.active_retention_days),
        hotlists=HotlistDesk(rt.uow, changes, rt.hotlists),
        partner_lists=PartnerListDesk(rt.uow, changes, rt.hotlists, agency=rt.settings.agency),
        holds=HoldDesk(rt.uow, changes, rt.purge),
        corrections=CorrectionDesk(changes, classes, rt.ingest.alerts),
        purge_orders=PurgeOrderDesk(rt.purge),
        figures=FigureDesk(rt.settings, rt.uow),
        frames=FrameDesk(rt.uow),
    )


class TestRouteTable:
    async def test_each_subject_is_answered_once_in_the_records_queue_group(self, system: Any) -> None:
        table = routes(desks_of(system.runtime("records")))
        subjects = [endpoint.subject for endpoint, _ in table]
        assert len(subjects) == len(set(subjects)) == 31
        assert all(s.startswith("alpr.records.") for s in subjects)
        assert {endpoint.queue for endpoint, _ in table} == {"records"}

    async def test_each_handler_takes_and_gives_its_endpoints_models(self, system: Any) -> None:
        for endpoint, handler in routes(desks_of(system.runtime("records"))):
            hints = typing.get_type_hints(handler)
            given = [t for name, t in hints.items() if name != "return"]
            assert given == [endpoint.request], endpoint.subject
            assert hints["return"] is endpoint.reply, endpoint.subject

    async def test_the_unused_read_count_is_no_longer_answered(self, system: Any) -> None:
        with pytest.raises(NoRespondersError):
            await system.runtime("gateway").bus.nc.request("alpr.records.reads.count", b"{}", timeout=2)

    async def test_a_served_endpoint_answers_on_its_unchanged_subject(self, system: Any) -> None:
        # raw bytes on the wire protocol's subject, as another language's client would send them
        reply = await system.runtime("gateway").bus.nc.request("alpr.records.hotlists.list", b"{}", timeout=5)
        assert b'"hotlists"' in reply.data
