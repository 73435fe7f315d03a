"""The recognizer over real NATS: typed error replies for bad images, readings with candidates for good ones."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from libs.common.contracts.reads import Box
from libs.common.contracts.recognition import RECOGNIZE, Recognition, RecognizeRequest
from libs.common.errors import AlprError
from services.recognizer.engine.weights import load_weights

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", Path(__file__).resolve().parents[4] / "shared"))
DATA = SHARED / "data" / "plates-openalpr-us"


def jpeg(size: tuple[int, int] = (200, 100), colour: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


async def recognize(system, request: RecognizeRequest) -> Recognition:  # type: ignore[no-untyped-def]
    if "recognizer" not in system.apps:
        pytest.skip("recognizer not started in this run")
    bus = system.runtime("records").bus
    return await bus.call(RECOGNIZE, request, timeout=10)


class TestBadInput:
    @pytest.mark.parametrize(
        ("image_b64", "box", "code"),
        [
            ("!!not base64!!", None, "image_undecodable"),
            (base64.b64encode(b"this is not an image").decode(), None, "image_undecodable"),
            (base64.b64encode(jpeg()).decode(), Box(x=150, y=50, width=200, height=100), "box_outside_frame"),
        ],
    )
    async def test_typed_error_reply_not_a_timeout(self, system, image_b64: str, box, code: str) -> None:  # type: ignore[no-untyped-def]
        with pytest.raises(AlprError) as caught:
            await recognize(system, RecognizeRequest(image_b64=image_b64, box=box))
        assert caught.value.code == code

    async def test_an_image_over_the_pixel_limit_is_refused(self, system) -> None:
        out = io.BytesIO()
        Image.new("L", (6000, 6000), 255).save(out, "PNG")  # 36 MP, a few KB: a decompression bomb shape
        with pytest.raises(AlprError) as caught:
            await recognize(system, RecognizeRequest(image_b64=base64.b64encode(out.getvalue()).decode()))
        assert caught.value.code == "image_too_large"
        assert caught.value.status == 413

    async def test_a_request_over_the_bus_limit_is_refused_not_timed_out(self, system) -> None:
        huge = base64.b64encode(b"\xff\xd8" + b"0" * (7 * 1024 * 1024)).decode()
        with pytest.raises(AlprError) as caught:
            await recognize(system, RecognizeRequest(image_b64=huge))
        assert caught.value.status == 413

    async def test_a_state_that_is_not_two_letters_is_refused(self, system) -> None:  # type: ignore[no-untyped-def]
        body = RecognizeRequest(image_b64=base64.b64encode(jpeg()).decode(), state="California")
        with pytest.raises(AlprError) as caught:
            await recognize(system, body)
        assert caught.value.code == "state_invalid"


class TestReading:
    async def test_a_real_frame_with_its_box_gives_text_confidences_and_ranked_candidates(self, system) -> None:
        line = (DATA / "labels.tsv").read_text().splitlines()[1]
        name, x, y, w, h, _plate = line.split("\t")
        frame = (DATA / "images" / name).read_bytes()
        reading = await recognize(
            system,
            RecognizeRequest(
                image_b64=base64.b64encode(frame).decode(),
                box=Box(x=float(x), y=float(y), width=float(w), height=float(h)),
            ),
        )
        assert 1 <= len(reading.plate) <= 10 and reading.plate.isalnum()
        assert 0.0 <= reading.confidence <= 1.0
        assert len(reading.char_confidences) == len(reading.plate)
        assert reading.candidates and reading.candidates[0].plate == reading.plate
        scores = [c.confidence for c in reading.candidates]
        assert scores == sorted(scores, reverse=True)
        assert reading.model_version
        level = load_weights()[1]["calibration"]["sure_threshold"]  # the shipped SURE level
        assert reading.sure == (reading.confidence >= level)


class TestRecordsAsksTheRecognizer:
    async def test_a_read_with_a_plate_image_stores_vendor_text_and_our_reading_side_by_side(self, system) -> None:
        import asyncio
        from datetime import UTC, datetime

        import asyncpg

        if "recognizer" not in system.apps:
            pytest.skip("recognizer not started in this run")
        line = (DATA / "labels.tsv").read_text().splitlines()[2]
        name, x, y, w, h, plate = line.split("\t")
        crop = Image.open(DATA / "images" / name).convert("RGB")
        crop = crop.crop((int(x), int(y), int(x) + int(w), int(y) + int(h)))
        out = io.BytesIO()
        crop.save(out, "JPEG", quality=90)
        response = await system.gateway.post(
            "/v1/reads",
            json={
                "plate": plate,
                "captured_at": datetime.now(UTC).isoformat(),
                "images": [{"kind": "plate", "data_b64": base64.b64encode(out.getvalue()).decode()}],
            },
            headers=system.camera,
        )
        assert response.status_code == 202, response.text
        read_id = response.json()["read_ids"][0]
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            for _ in range(200):
                row = await conn.fetchrow("SELECT * FROM records.reads WHERE read_id = $1::uuid", read_id)
                if row:
                    break
                await asyncio.sleep(0.05)
            image = await conn.fetchval(
                "SELECT length(data) FROM records.read_images WHERE read_id = $1::uuid", read_id
            )
        finally:
            await conn.close()
        assert row is not None
        assert row["plate"] == plate
        assert row["our_plate"] and row["our_model"]
        assert row["our_confidence"] is not None
        assert row["our_candidates"] and row["has_image"] is True
        assert image == len(out.getvalue())
