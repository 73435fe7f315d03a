"""NATS subject of the recognizer: `alpr.recognize` in a queue group, so replicas share the load."""

from __future__ import annotations

from libs.common.bus import Bus
from libs.common.contracts.recognition import RecognizeRequest
from services.recognizer.service import Recognizer


async def register(bus: Bus, recognizer: Recognizer) -> None:
    await bus.serve("alpr.recognize", RecognizeRequest, recognizer.recognize, queue="recognizer")
