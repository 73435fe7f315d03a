"""Records' route table: each endpoint it answers (libs/common/contracts) → the handler that answers it.

Searches and reads are answered by ReadLookups; alerts, hotlists, holds, corrections, retention and figures by
their rooms' desks, each room listing its own endpoints. READS ingest is a JetStream flow (flows.py), and so is
FRAMES (frames/flows.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from libs.common.bus import Bus
from libs.common.contracts.search import READ_DETAIL, READ_IMAGE, SEARCH
from libs.common.endpoint import Endpoint
from services.records import figures
from services.records.alerts import handlers as alerts
from services.records.corrections import handlers as corrections
from services.records.frames import handlers as frames
from services.records.holds import handlers as holds
from services.records.hotlists import exchange
from services.records.hotlists import handlers as hotlists
from services.records.lookups import ReadLookups
from services.records.retention import handlers as retention


@dataclass(frozen=True, slots=True)
class Desks:
    """Everything that answers a records endpoint, built once in the lifespan."""

    reads: ReadLookups
    alerts: alerts.AlertDesk
    hotlists: hotlists.HotlistDesk
    partner_lists: exchange.PartnerListDesk
    holds: holds.HoldDesk
    corrections: corrections.CorrectionDesk
    purge_orders: retention.PurgeOrderDesk
    figures: figures.FigureDesk
    frames: frames.FrameDesk


def routes(desks: Desks) -> list[tuple[Endpoint[Any, Any], Any]]:
    """Every request/reply endpoint of records with its handler."""
    return [
        (SEARCH, desks.reads.search),
        (READ_DETAIL, desks.reads.read_detail),
        (READ_IMAGE, desks.reads.read_image),
        *alerts.routes(desks.alerts),
        *hotlists.routes(desks.hotlists),
        *exchange.routes(desks.partner_lists),
        *holds.routes(desks.holds),
        *corrections.routes(desks.corrections),
        *retention.routes(desks.purge_orders),
        *figures.routes(desks.figures),
        *frames.routes(desks.frames),
    ]


async def register(bus: Bus, desks: Desks) -> None:
    """Answer every records endpoint in its queue group; errors go back as typed error replies."""
    for endpoint, handler in routes(desks):
        await bus.serve(endpoint, handler)
