"""Poison on FRAMES, published straight onto the bus past the gateway: what is no frame is kept in DEADLETTER
naming records-frames, and the frame after it is still read. Budget: 60 s (one frame through the recognizer)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from libs.common import deadletter
from libs.common.streams import RECORDS_FRAMES, frames_subject
from services.cli.deadletter import list_dead_letters
from services.cli.stack import DEV_AGENCY
from tests.utils.frames import CAMERA, Frames, blank_frame

pytestmark = pytest.mark.asyncio(loop_scope="session")
SUBJECT = frames_subject(DEV_AGENCY, CAMERA)


async def letters_naming(system: Any, marker: str, count: int, *, budget_s: float = 15.0) -> list[dict[str, str]]:
    """The dead letters whose body holds `marker` (read straight from the stream), once there are `count`."""
    js = system.runtime("gateway").bus.js
    found: list[dict[str, str]] = []
    for _ in range(int(budget_s / 0.1)):
        found = []
        for item in await list_dead_letters(js, limit=200):
            msg = await js.get_msg("DEADLETTER", item["seq"])
            if marker in (msg.data or b"").decode(errors="replace"):
                found.append(dict(msg.headers or {}))
        if len(found) >= count:
            break
        await asyncio.sleep(0.1)
    return found


class TestMessagesThatAreNoFrame:
    async def test_garbage_and_hostile_text_are_dead_lettered_and_the_next_frame_is_read(
        self, system: Any, frames: Frames
    ) -> None:
        marker = uuid.uuid4().hex
        bus = system.runtime("gateway").bus
        good = json.loads((await frames.post(blank_frame())).model_dump_json())
        poison = [
            f"not a frame {marker}".encode(),
            # PostgreSQL refuses NUL; refused at the door, before the recognizer is asked anything
            json.dumps({**good, "frame_id": marker[:32], "camera_id": f"cam\x00{marker}"}).encode(),
            json.dumps({**good, "frame_id": marker[:32], "received_at": "yesterday", "marker": marker}).encode(),
        ]
        for body in poison:
            await bus.publish_durable(SUBJECT, body, msg_id=str(uuid.uuid4()))
        after = await frames.post(blank_frame())

        assert (await frames.outcome(after)).status == "no_plate"
        letters = await letters_naming(system, marker, len(poison))
        assert len(letters) == len(poison)
        for headers in letters:
            assert headers[deadletter.ORIGIN_CONSUMER] == RECORDS_FRAMES.config.durable_name
            assert headers[deadletter.ORIGIN_SUBJECT] == SUBJECT and headers[deadletter.ERROR]
        assert (await frames.status(after.model_copy(update={"frame_id": marker[:32]}))).status == "pending"
