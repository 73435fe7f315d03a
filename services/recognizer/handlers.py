"""The recognizer's route table: each endpoint in the `recognizer` queue group, so replicas share the load."""

from __future__ import annotations

from libs.common.bus import Bus
from libs.common.contracts.frames import READ_FRAME
from libs.common.contracts.recognition import RECOGNIZE
from services.recognizer.service import Recognizer


async def register(bus: Bus, recognizer: Recognizer) -> None:
    """Answer every endpoint of the recognizer: a plate read (`RECOGNIZE`) and a photograph's plates (`READ_FRAME`)."""
    await bus.serve(RECOGNIZE, recognizer.recognize)
    await bus.serve(READ_FRAME, recognizer.read_frame)
