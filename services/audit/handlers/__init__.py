"""Audit's route table: each endpoint the audit service answers, and the call that answers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic

from libs.common.bus import Bus
from libs.common.contracts import auditing
from libs.common.contracts.audit import EVENT, PERSISTED
from libs.common.contracts.oversight import FLAGS
from libs.common.contracts.transparency import AUDIT_MONTHLY
from libs.common.endpoint import Endpoint, Rep, Req
from services.audit.figures import FigureDesk
from services.audit.flows import AuditWriter
from services.audit.handlers.auditors import AuditorDesk
from services.audit.handlers.lookups import RecordLookups


@dataclass(frozen=True, slots=True)
class Route(Generic[Req, Rep]):
    """One row of the table: an endpoint and the call that answers it."""

    endpoint: Endpoint[Req, Rep]
    handler: Callable[[Req], Awaitable[Rep]]


def route(endpoint: Endpoint[Req, Rep], handler: Callable[[Req], Awaitable[Rep]]) -> Route[Any, Any]:
    """A row of the table, checked here: the handler takes the endpoint's request and gives its reply."""
    return Route(endpoint, handler)


def routes(
    writer: AuditWriter, lookups: RecordLookups, auditors: AuditorDesk, figures: FigureDesk
) -> list[Route[Any, Any]]:
    """Every endpoint of the audit service with its handler."""
    return [
        route(PERSISTED, writer.persisted),
        route(EVENT, lookups.event_summary),
        route(FLAGS, lookups.flags),
        route(auditing.RECORDS, auditors.records),
        route(auditing.CHECKPOINTS, auditors.checkpoints),
        route(auditing.INCLUSION, auditors.inclusion),
        route(auditing.CONSISTENCY, auditors.consistency),
        route(auditing.VERIFY, auditors.verify),
        route(auditing.SAMPLE_DRAW, auditors.draw),
        route(auditing.SAMPLE_GET, auditors.sample),
        route(auditing.FINDING_RECORD, auditors.finding),
        route(auditing.REPORT, auditors.report),
        route(auditing.ANOMALIES, auditors.anomalies),
        route(auditing.COMPLETENESS, auditors.completeness),
        route(AUDIT_MONTHLY, figures.monthly),
    ]


async def serve(bus: Bus, table: list[Route[Any, Any]]) -> None:
    """Answer every endpoint of the table; errors go back as typed error replies."""
    for row in table:
        await bus.serve(row.endpoint, row.handler)


__all__ = [
    "AuditorDesk",
    "FigureDesk",
    "RecordLookups",
    "Route",
    "route",
    "routes",
    "serve",
]
