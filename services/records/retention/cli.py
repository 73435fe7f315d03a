"""`alpr purge --now`: ask a records replica to run the purge and print its report."""

from __future__ import annotations

import os
from typing import Any

from libs.common.bus import Bus
from libs.common.contracts.holds import PURGE, PurgeRequest


async def purge_now(nats_url: str) -> dict[str, Any]:
    """Run the purge over NATS (one runner across replicas; a busy lock says `ran: false`)."""
    password = os.environ.get("ALPR_NATS_PASSWORD")
    bus = await Bus.connect(nats_url, name="alpr-cli", user=os.environ.get("ALPR_NATS_USER"), password=password)
    try:
        report = await bus.call(PURGE, PurgeRequest(), timeout=300)
    finally:
        await bus.close()
    return report.model_dump(mode="json")
