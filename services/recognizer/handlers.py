"""The recognizer's route table: `RECOGNIZE` in its queue group, so replicas share the load."""

from __future__ import annotations

from libs.common.bus import Bus
from libs.common.contracts.recognition import RECOGNIZE
from services.recognizer.service import Recognizer


async def register(bus: Bus, recognizer: Recognizer) -> None:
    """Answer every endpoint of the recognizer (one: a plate crop read)."""
    await bus.serve(RECOGNIZE, recognizer.recognize)
