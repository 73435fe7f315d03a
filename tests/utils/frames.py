"""Frames for tests: photographs put on FRAMES as the gateway puts them, their outcome asked for as the gateway
asks (`FRAME_STATUS`); the photographs are the shared plate photos, large plates only."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from PIL import Image

from libs.common.contracts.frames import FRAME_STATUS, FrameIn, FrameStatus, FrameStatusRequest
from libs.common.contracts.reads import ReadImage
from libs.common.streams import frames_subject
from services.cli.stack import DEV_AGENCY

SHARED = Path(os.environ.get("ALPR_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
PHOTOS = SHARED / "data" / "plates-openalpr-us"
# 1280x720 training photos whose plate (141 and 149 px wide, the median is 88) the detector finds, and finds
# again in a 640-px-wide cut around it, while its weights are still weak (it may find a false one beside it)
ONE_PLATE, OTHER_PLATE = "wts-lg-000175.jpg", "wts-lg-000028.jpg"
CAMERA = "frame-cam-1"


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92)
    return out.getvalue()


@cache
def photo(name: str) -> bytes:
    path = PHOTOS / "images" / name
    if not path.is_file():
        pytest.skip(f"no shared photo at {path} (set ALPR_SHARED_DIR)")
    return path.read_bytes()


@cache
def plate_box(name: str) -> tuple[int, int, int, int]:
    """The labelled plate of a shared photo: x, y, width, height (labels.tsv)."""
    for line in (PHOTOS / "labels.tsv").read_text().splitlines()[1:]:
        image, x, y, w, h, _ = line.split("\t")
        if image == name:
            return int(x), int(y), int(w), int(h)
    raise LookupError(name)


def _cut_left(name: str) -> int:
    """Where the 640-px-wide cut around a 1280-px photo's plate begins."""
    x, _, w, _ = plate_box(name)
    return max(0, min(1280 - 640, x + w // 2 - 320))


@cache
def two_plate_frame() -> bytes:
    """A 1280x720 frame of two 640x720 cuts side by side, each around one photo's plate at its own scale."""
    frame = Image.new("RGB", (1280, 720), (96, 96, 96))
    for i, name in enumerate((ONE_PLATE, OTHER_PLATE)):
        left = _cut_left(name)
        frame.paste(Image.open(io.BytesIO(photo(name))).convert("RGB").crop((left, 0, left + 640, 720)), (640 * i, 0))
    return jpeg(frame)


def two_plate_boxes() -> list[tuple[int, int, int, int]]:
    """The two labelled plates where they lie in `two_plate_frame`."""
    boxes = []
    for i, name in enumerate((ONE_PLATE, OTHER_PLATE)):
        x, y, w, h = plate_box(name)
        boxes.append((x - _cut_left(name) + 640 * i, y, w, h))
    return boxes


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, width, height) boxes."""
    across = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    down = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    shared = across * down
    return shared / (a[2] * a[3] + b[2] * b[3] - shared)


@cache
def blank_frame() -> bytes:
    """A 1280x720 frame of one grey: nothing in it to find."""
    return jpeg(Image.new("RGB", (1280, 720), (128, 128, 128)))


@dataclass
class Frames:
    """Posts frames onto FRAMES with the gateway's bus and asks records for their outcome."""

    system: Any

    @property
    def bus(self) -> Any:
        return self.system.runtime("gateway").bus

    async def post(
        self,
        data: bytes,
        *,
        frame_id: str | None = None,
        msg_id: str | None = None,
        camera: str = CAMERA,
        captured_at: datetime | None = None,
    ) -> FrameIn:
        """Publish a frame as the gateway does (message id = frame id, unless a resend names another)."""
        now = datetime.now(UTC)
        frame = FrameIn(
            frame_id=frame_id or str(uuid.uuid4()),
            agency=DEV_AGENCY,
            camera_id=camera,
            received_at=now,
            captured_at=captured_at or now,
            latitude=37.3382,
            longitude=-121.8863,
            image=ReadImage(kind="overview", content_type="image/jpeg", data_b64=base64.b64encode(data).decode()),
        )
        await self.bus.publish_durable(
            frames_subject(frame.agency, frame.camera_id),
            frame.model_dump_json().encode(),
            msg_id=msg_id or frame.frame_id,
        )
        return frame

    async def status(self, frame: FrameIn, *, camera: str | None = None) -> FrameStatus:
        request = FrameStatusRequest(frame_id=frame.frame_id, agency=frame.agency, camera_id=camera or frame.camera_id)
        return await self.bus.call(FRAME_STATUS, request)

    async def outcome(self, frame: FrameIn, *, budget_s: float = 60.0) -> FrameStatus:
        """The frame's outcome once records has stored it; fails past the budget."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        while True:
            status = await self.status(frame)
            if status.status != "pending":
                return status
            if loop.time() > deadline:
                raise AssertionError(f"frame {frame.frame_id} still pending after {budget_s} s")
            await asyncio.sleep(0.2)

    async def stored_reads(self, read_ids: list[str]) -> list[dict[str, Any]]:
        """The stored reads among these ids (read as the test's own inspection, with their overview images)."""
        conn = await asyncpg.connect(self.system.stack.pg.admin_dsn)
        try:
            rows = await conn.fetch(
                "SELECT r.read_id::text AS read_id, r.plate, r.our_plate, r.vendor, r.vendor_format, r.camera_id, "
                "r.hotlist_hit, r.plate_box, r.flags, (SELECT array_agg(i.kind) FROM records.read_images i "
                "WHERE i.read_id = r.read_id AND i.captured_at = r.captured_at) AS image_kinds "
                "FROM records.reads r WHERE r.read_id::text = ANY($1)",
                read_ids,
            )
            return [{**r, "plate_box": json.loads(r["plate_box"]) if r["plate_box"] else None} for r in rows]
        finally:
            await conn.close()
