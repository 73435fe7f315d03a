"""A posted photograph on FRAMES becomes reads: found and read by the running recognizer, stored by records
with the frame's outcome, told by FRAME_STATUS. Budget: each frame's outcome within 60 s (the recognizer
shares two cores with a training run); the whole file about a minute when the machine is quiet."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.frames import READ_FRAME, ReadFrameRequest
from libs.common.contracts.hotlists import HOTLIST_ADD_ENTRY, HOTLIST_CREATE, HotlistCreateRequest, ManualEntryIn
from libs.common.contracts.search import SEARCH, SearchQuery, SearchRequest
from libs.common.streams import FRAMES, RECORDS_FRAMES
from tests.utils.frames import ONE_PLATE, OTHER_PLATE, Frames, blank_frame, iou, photo, two_plate_boxes, two_plate_frame

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def exact_search(system: Any, plate: str) -> dict[str, str | None]:
    """Records' exact plate search over the last hour: each found read with the reading it matched on."""
    now = datetime.now(UTC)
    query = SearchQuery(plate=plate, since=now - timedelta(hours=1), until=now + timedelta(minutes=1))
    result = await system.runtime("gateway").bus.call(SEARCH, SearchRequest(search_id=str(uuid.uuid4()), query=query))
    return {r.read_id: r.matched_on for r in result.reads}


async def reads_of_camera(system: Any, camera: str) -> int:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM records.reads WHERE camera_id = $1", camera))
    finally:
        await conn.close()


async def consumed(system: Any, *, budget_s: float = 60.0) -> None:
    """Wait until records' frames consumer has acked everything on FRAMES so far."""
    js = system.runtime("gateway").bus.js
    last = (await js.stream_info(FRAMES.name)).state.last_seq
    for _ in range(int(budget_s / 0.2)):
        info = await js.consumer_info(FRAMES.name, RECORDS_FRAMES.config.durable_name)
        if info.ack_floor.stream_seq >= last and not info.num_ack_pending:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("records did not consume FRAMES in time")


class TestFrameBecomesReads:
    async def test_a_photograph_is_stored_as_a_read_an_exact_search_finds(self, system: Any, frames: Frames) -> None:
        frame = await frames.post(photo(ONE_PLATE))
        outcome = await frames.outcome(frame)

        assert outcome.status == "read" and outcome.error_code is None and outcome.completed_at is not None
        assert len(outcome.read_ids) == len(outcome.plates) >= 1
        read_id, plate = outcome.read_ids[0], outcome.plates[0]
        assert plate, "the recognizer found the plate but read nothing"
        [read] = [r for r in await frames.stored_reads(outcome.read_ids) if r["read_id"] == read_id]
        assert (read["vendor"], read["vendor_format"], read["camera_id"]) == ("image", "image", frame.camera_id)
        assert read["plate"] == read["our_plate"] == plate  # our reading is the read's plate
        assert read["plate_box"] is not None and read["image_kinds"] == ["overview"]
        found = await exact_search(system, plate)
        assert read_id in found and found[read_id] == "both"

    async def test_a_frame_with_no_plate_is_told_no_plate(self, frames: Frames) -> None:
        frame = await frames.post(blank_frame())
        outcome = await frames.outcome(frame)
        assert (outcome.status, outcome.read_ids, outcome.plates) == ("no_plate", [], [])

    async def test_bytes_that_are_no_image_fail_with_the_recognizers_code(self, frames: Frames) -> None:
        frame = await frames.post(b"\xff\xd8\xff\xe0 not a photograph at all \xff\xd9")
        outcome = await frames.outcome(frame)
        assert (outcome.status, outcome.error_code, outcome.read_ids) == ("failed", "image_undecodable", [])

    async def test_a_frame_with_two_plates_becomes_two_reads(self, frames: Frames) -> None:
        frame = await frames.post(two_plate_frame())
        outcome = await frames.outcome(frame)
        assert outcome.status == "read"
        # a read for each plate the recognizer finds (asked again here: the same photograph, the same answer),
        # a weak detector's false plate too (the eval's "other detections" counts those)
        found = await frames.bus.call(READ_FRAME, ReadFrameRequest(image_b64=frame.image.data_b64), timeout=60)
        assert len(set(outcome.read_ids)) == len(found.plates) >= 2, outcome
        stored = await frames.stored_reads(outcome.read_ids)
        assert sorted(r["read_id"] for r in stored) == sorted(outcome.read_ids)
        assert {r["plate"] for r in stored} == set(outcome.plates)
        # both labelled plates are among them, each a read of its own
        boxes = [(b["x"], b["y"], b["width"], b["height"]) for b in (r["plate_box"] for r in stored)]
        matches = [[i for i, box in enumerate(boxes) if iou(box, plate) >= 0.5] for plate in two_plate_boxes()]
        assert all(len(m) == 1 for m in matches) and matches[0] != matches[1], (boxes, two_plate_boxes())

    async def test_only_the_camera_that_posted_is_told_the_outcome(self, frames: Frames) -> None:
        frame = await frames.post(blank_frame())
        assert (await frames.outcome(frame)).status == "no_plate"
        assert (await frames.status(frame, camera="another-cam")).status == "pending"


class TestOnceOnly:
    async def test_the_same_frame_published_twice_stores_its_reads_once(self, system: Any, frames: Frames) -> None:
        camera = f"frame-cam-{uuid.uuid4().hex[:8]}"  # a camera of this test's own, so its reads can be counted
        frame = await frames.post(photo(ONE_PLATE), camera=camera)
        first = await frames.outcome(frame)
        assert first.status == "read"

        # the gateway's resend past the stream's duplicate window: the same frame under another message id
        again = await frames.post(photo(ONE_PLATE), frame_id=frame.frame_id, msg_id=str(uuid.uuid4()), camera=camera)
        assert again.frame_id == frame.frame_id
        await consumed(system)

        assert await frames.outcome(frame) == first  # the outcome and its time unchanged
        assert await reads_of_camera(system, camera) == len(first.read_ids)


class TestRecognizerAway:
    async def test_a_frame_waits_in_the_stream_and_is_stored_once_the_recognizer_is_back(
        self, system: Any, frames: Frames
    ) -> None:
        js = system.runtime("gateway").bus.js
        await system.stop_service("recognizer")
        try:
            frame = await frames.post(photo(ONE_PLATE))
            await asyncio.sleep(3.0)  # several attempts, each answered by no recognizer
            assert (await frames.status(frame)).status == "pending"
            info = await js.consumer_info(FRAMES.name, RECORDS_FRAMES.config.durable_name)
            assert info.num_ack_pending + info.num_pending >= 1  # not acked: still JetStream's to redeliver
        finally:
            await system.start_service("recognizer")
        outcome = await frames.outcome(frame, budget_s=60.0)
        assert outcome.status == "read" and outcome.read_ids


class TestHotlistedPlate:
    async def test_a_listed_plate_in_a_photograph_raises_an_alert(self, system: Any, frames: Frames) -> None:
        # what the recognizer reads in this photo, then listed, then the photo posted again as a new frame
        first = await frames.outcome(await frames.post(photo(OTHER_PLATE)))
        assert first.status == "read" and first.plates[0], first
        bus = system.runtime("gateway").bus
        hotlist = await bus.call(
            HOTLIST_CREATE, HotlistCreateRequest(name=f"frames {uuid.uuid4().hex[:6]}", source="manual")
        )
        await bus.call(
            HOTLIST_ADD_ENTRY,
            ManualEntryIn(hotlist_id=hotlist.hotlist_id, plate=first.plates[0], state=None, entered_by="test"),
        )

        second = await frames.outcome(await frames.post(photo(OTHER_PLATE)))
        assert second.status == "read" and second.plates[0] == first.plates[0]
        read_id = second.read_ids[0]
        [read] = [r for r in await frames.stored_reads([read_id])]
        assert read["hotlist_hit"] is True
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            alerts = await conn.fetch("SELECT body FROM records.alerts WHERE read_id = $1::uuid", read_id)
        finally:
            await conn.close()
        assert len(alerts) == 1 and first.plates[0] in alerts[0]["body"]
