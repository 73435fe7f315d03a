"""Finding plates over real NATS: READ_FRAME reads every plate of a photograph, RECOGNIZE `find_plate` reads the
one a scene read is about, and records asks for that second opinion on a vendor's scene photo without a box.

Budget: about twenty frames through the shipped detector and reader, under half a minute on two cores.
"""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.frames import READ_FRAME, FrameReading, ReadFrameRequest
from libs.common.contracts.reads import Box
from libs.common.contracts.recognition import RECOGNIZE, Recognition, RecognizeRequest
from libs.common.endpoint import Endpoint
from libs.common.errors import AlprError
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.plate_choice import distance
from services.recognizer.service import Recognizer
from tests.services.recognizer.test_frames import (
    as_tuple,
    blank_frame,
    bomb_png,
    encoded,
    iou,
    synthetic_scene,
    two_plate_frame,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


async def call(system: Any, endpoint: Endpoint[Any, Any], request: Any) -> Any:
    if "recognizer" not in system.apps:
        pytest.skip("recognizer not started in this run")
    return await system.runtime("records").bus.call(endpoint, request, timeout=10)


async def read_frame(system: Any, raw: bytes, state: str | None = None) -> FrameReading:
    reading: FrameReading = await call(system, READ_FRAME, ReadFrameRequest(image_b64=b64(raw), state=state))
    return reading


async def recognize(system: Any, request: RecognizeRequest) -> Recognition:
    reading: Recognition = await call(system, RECOGNIZE, request)
    return reading


class TestReadFrame:
    async def test_a_photograph_with_a_plate_answers_where_it_is_and_what_it_reads(self, system: Any) -> None:
        frame, plate = synthetic_scene()
        reading = await read_frame(system, encoded(frame))
        assert (reading.width, reading.height) == frame.size and reading.detector_version
        best = max(reading.plates, key=lambda p: iou(as_tuple(p.box), plate.box), default=None)
        assert best is not None and iou(as_tuple(best.box), plate.box) >= 0.5
        assert len(best.polygon) == 4
        assert distance(best.recognition.plate, plate.text) <= 1
        assert best.recognition.model_version and best.recognition.candidates

    async def test_a_webp_photograph_of_two_cars_gives_both_plates_best_detection_first(
        self, system: Any, plates_dir: Any
    ) -> None:
        frame, plates = two_plate_frame(plates_dir)
        reading = await read_frame(system, encoded(frame, "WEBP"))
        for plate in plates:
            matched = [p for p in reading.plates if iou(as_tuple(p.box), plate.box) >= 0.5]
            assert matched, f"{plate.text} not found"
            assert distance(matched[0].recognition.plate, plate.text) <= 1
        scores = [p.detection_score for p in reading.plates]
        assert scores == sorted(scores, reverse=True)

    async def test_a_blank_photograph_has_no_plate_and_is_no_error(self, system: Any) -> None:
        reading = await read_frame(system, encoded(blank_frame(), "PNG"))
        assert reading.plates == [] and (reading.width, reading.height) == blank_frame().size

    @pytest.mark.parametrize(
        ("raw", "code", "status"),
        [
            (b"GIF89a and then nothing", "image_undecodable", 422),
            (encoded(blank_frame())[:1500], "image_undecodable", 422),  # a JPEG cut short
            (encoded(blank_frame(), "GIF"), "image_undecodable", 422),
            (bomb_png(), "image_too_large", 413),
            (bomb_png(6000, 6000), "image_too_large", 413),
        ],
    )
    async def test_bad_bytes_are_a_typed_refusal_not_a_timeout(
        self, system: Any, raw: bytes, code: str, status: int
    ) -> None:
        with pytest.raises(AlprError) as caught:
            await read_frame(system, raw)
        assert (caught.value.code, caught.value.status) == (code, status)

    async def test_text_that_is_not_base64_and_a_bad_state_are_refused(self, system: Any) -> None:
        with pytest.raises(AlprError) as caught:
            await call(system, READ_FRAME, ReadFrameRequest(image_b64="!!not base64!!"))
        assert caught.value.code == "image_undecodable"
        with pytest.raises(AlprError) as caught:
            await read_frame(system, encoded(blank_frame()), state="California")
        assert caught.value.code == "state_invalid"


class TestFindPlate:
    async def test_the_plate_nearest_the_vendors_text_is_read_and_located(self, system: Any, plates_dir: Any) -> None:
        frame, plates = two_plate_frame(plates_dir)
        image_b64 = b64(encoded(frame))
        for plate in plates:
            reading = await recognize(
                system, RecognizeRequest(image_b64=image_b64, find_plate=True, plate_hint=plate.text)
            )
            assert reading.found_box is not None and iou(as_tuple(reading.found_box), plate.box) >= 0.5
            assert reading.found_polygon is not None and len(reading.found_polygon) == 4
            assert reading.detection_score is not None and reading.detection_score > 0
            assert distance(reading.plate, plate.text) <= 1

    async def test_without_a_hint_the_surest_found_plate_is_read(self, system: Any, plates_dir: Any) -> None:
        frame, _ = two_plate_frame(plates_dir)
        raw = encoded(frame)
        every = await read_frame(system, raw)
        surest = max(every.plates, key=lambda p: p.detection_score * p.recognition.confidence)
        reading = await recognize(system, RecognizeRequest(image_b64=b64(raw), find_plate=True))
        assert reading.found_box is not None and iou(as_tuple(reading.found_box), as_tuple(surest.box)) > 0.9
        assert reading.plate == surest.recognition.plate

    async def test_a_scene_without_a_plate_is_no_plate_found(self, system: Any) -> None:
        with pytest.raises(AlprError) as caught:
            await recognize(system, RecognizeRequest(image_b64=b64(encoded(blank_frame())), find_plate=True))
        assert (caught.value.code, caught.value.status) == ("no_plate_found", 422)

    async def test_without_find_plate_the_image_is_read_as_before(self, system: Any) -> None:
        frame, plate = synthetic_scene()
        image_b64 = b64(encoded(frame))
        whole = await recognize(system, RecognizeRequest(image_b64=image_b64))
        assert whole.found_box is None and whole.detection_score is None  # the whole frame read as a crop
        box = Box(x=plate.box[0], y=plate.box[1], width=plate.box[2], height=plate.box[3])
        boxed = await recognize(system, RecognizeRequest(image_b64=image_b64, box=box))
        # a box sent with find_plate is the vendor's word: nothing is searched for
        boxed_find = await recognize(system, RecognizeRequest(image_b64=image_b64, box=box, find_plate=True))
        assert boxed_find.found_box is None and boxed_find.plate == boxed.plate
        assert boxed.candidates == boxed_find.candidates

    async def test_a_webp_crop_is_read_as_its_jpeg_is(self, system: Any) -> None:
        frame, plate = synthetic_scene()
        x, y, w, h = (int(v) for v in plate.box)
        crop = frame.crop((x, y, x + w, y + h))
        as_png = await recognize(system, RecognizeRequest(image_b64=b64(encoded(crop, "PNG"))))
        lossless = io.BytesIO()
        crop.save(lossless, "WEBP", lossless=True)  # the same pixels as the PNG
        as_webp = await recognize(system, RecognizeRequest(image_b64=b64(lossless.getvalue())))
        assert as_webp.plate == as_png.plate and as_webp.candidates == as_png.candidates
        assert distance(as_webp.plate, plate.text) <= 1
        with pytest.raises(AlprError) as caught:  # what READ_FRAME refuses, RECOGNIZE refuses too
            await recognize(system, RecognizeRequest(image_b64=b64(encoded(crop, "GIF"))))
        assert caught.value.code == "image_undecodable"


class TestSceneReadInRecords:
    async def test_a_vendors_scene_photo_without_a_box_gets_our_reading_of_its_plate(
        self, system: Any, plates_dir: Any
    ) -> None:
        if "recognizer" not in system.apps:
            pytest.skip("recognizer not started in this run")
        frame, plates = two_plate_frame(plates_dir)
        vendor = plates[1]  # the vendor's read is about the right-hand car; the left one is a bystander
        response = await system.gateway.post(
            "/v1/reads",
            json={
                "plate": vendor.text,
                "captured_at": datetime.now(UTC).isoformat(),
                "images": [{"kind": "overview", "data_b64": b64(encoded(frame))}],
            },
            headers=system.camera,
        )
        assert response.status_code == 202, response.text
        read_id = response.json()["read_ids"][0]
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            row = None
            for _ in range(200):
                row = await conn.fetchrow("SELECT * FROM records.reads WHERE read_id = $1::uuid", read_id)
                if row:
                    break
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        assert row is not None and row["plate"] == vendor.text
        assert row["our_plate"] and row["our_model"], row["flags"]
        assert distance(row["our_plate"], vendor.text) <= 1
        assert distance(row["our_plate"], plates[0].text) > 1


class TestWithoutADetector:
    async def test_a_reader_alone_refuses_to_find_plates_typed(self, reader: Any) -> None:
        batcher = MicroBatcher(reader)
        alone = Recognizer(batcher, version=reader.version, max_image_bytes=8 << 20)
        try:
            image_b64 = b64(encoded(blank_frame()))
            for call_it in (
                alone.read_frame(ReadFrameRequest(image_b64=image_b64)),
                alone.recognize(RecognizeRequest(image_b64=image_b64, find_plate=True)),
            ):
                with pytest.raises(AlprError) as caught:
                    await call_it
                assert (caught.value.code, caught.value.status) == ("detector_unavailable", 503)
        finally:
            await batcher.close()
