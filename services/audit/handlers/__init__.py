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
from services.audit.figures import AuditFigures
from services.audit.handlers.auditors import AuditorRequests
from services.audit.handlers.lookups import RecordLookups
from services.audit.handlers.writer import AuditWriter, writer_consumer


@dataclass(frozen=True, slots=True)
class Route(Generic[Req, Rep]):
    """One row of the table; the type checker holds the handler to the endpoint's request and reply."""

    endpoint: Endpoint[Req, Rep]
    handler: Callable[[Req], Awaitable[Rep]]


def routes(
    writer: AuditWriter, lookups: RecordLookups, auditors: AuditorRequests, figures: AuditFigures
) -> list[Route[Any, Any]]:
    """Every endpoint of the audit service with its handler."""
    return [
        Route(PERSISTED, writer.persisted),
        Route(EVENT, lookups.event_summary),
        Route(FLAGS, lookups.flags),
        Route(auditing.RECORDS, auditors.records),
        Route(auditing.CHECKPOINTS, auditors.checkpoints),
        Route(auditing.INCLUSION, auditors.inclusion),
        Route(auditing.CONSISTENCY, auditors.consistency),
        Route(auditing.VERIFY, auditors.verify),
        Route(auditing.SAMPLE_DRAW, auditors.draw),
        Route(auditing.SAMPLE_GET, auditors.sample),
        Route(auditing.FINDING_RECORD, auditors.finding),
        Route(auditing.REPORT, auditors.report),
        Route(auditing.ANOMALIES, auditors.anomalies),
        Route(auditing.COMPLETENESS, auditors.completeness),
        Route(AUDIT_MONTHLY, figures.monthly),
    ]


async def serve(bus: Bus, table: list[Route[Any, Any]]) -> None:
    """Answer every endpoint of the table; errors go back as typed error replies."""
    for route in table:
        await bus.serve(route.endpoint, route.handler)


__all__ = [
    "AuditFigures",
    "AuditWriter",
    "AuditorRequests",
    "RecordLookups",
    "Route",
    "routes",
    "serve",
    "writer_consumer",
]
