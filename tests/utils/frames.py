"""Frames for tests: photographs put on FRAMES as the gateway puts them, their outcome asked for as the gateway
asks (`FRAME_STATUS`); the photographs are the shared plate photos, large plates only."""

from __future__ import annotations

import asyncio
import base64
import io
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
PHOTOS = SHARED / "data" / "plates-openalpr-us" / "images"
# training photos whose plate is among the largest (329 and 293 px wide): found and read while the
# detector's weights are still weak
ONE_PLATE, OTHER_PLATE = "us8.jpg", "us7.jpg"
CAMERA = "frame-cam-1"


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92)
    return out.getvalue()


@cache
def photo(name: str) -> bytes:
    path = PHOTOS / name
    if not path.is_file():
        pytest.skip(f"no shared photo at {path} (set ALPR_SHARED_DIR)")
    return path.read_bytes()


@cache
def two_plate_frame() -> bytes:
    """A 1280x720 frame holding both photos side by side, each scaled to 640 px wide: two large plates."""
    frame = Image.new("RGB", (1280, 720), (96, 96, 96))
    for i, name in enumerate((ONE_PLATE, OTHER_PLATE)):
        opened = Image.open(io.BytesIO(photo(name)))
        shot = opened.resize((640, round(opened.height * 640 / opened.width)))
        frame.paste(shot, (640 * i, (720 - shot.height) // 2))
    return jpeg(frame)


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
        self, data: bytes, *, frame_id: str | None = None, msg_id: str | None = None, camera: str = CAMERA
    ) -> FrameIn:
        """Publish a frame as the gateway does (message id = frame id, unless a resend names another)."""
        now = datetime.now(UTC)
        frame = FrameIn(
            frame_id=frame_id or str(uuid.uuid4()),
            agency=DEV_AGENCY,
            camera_id=camera,
            received_at=now,
            captured_at=now,
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
            return [dict(r) for r in rows]
        finally:
            await conn.close()
