"""Images end to end: only real images are stored, byte for byte, and every image is served so no browser runs it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from libs.common.images import IMAGE_MAX_BYTES, digest
from services.gateway.read_bundles import BUNDLE_READS, HEADER_ROOM
from tests.services.gateway.test_first_path import PURPOSE
from tests.utils.image_samples import big_png, jpeg, png, webp

pytestmark = pytest.mark.asyncio(loop_scope="session")

HTML = b"<html><script>alert(document.cookie)</script></html>"
NATS_CONF = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "base" / "nats" / "nats.conf"


def _plate() -> str:
    return "5" + uuid.uuid4().hex[:6].upper()


async def _post(system: Any, *images: dict[str, str], plate: str | None = None) -> Any:
    body = {"plate": plate or _plate(), "captured_at": datetime.now(UTC).isoformat(), "images": list(images)}
    return await system.gateway.post("/v1/reads", json=body, headers=system.camera)


async def _stored(system: Any, read_id: str) -> tuple[asyncpg.Record | None, list[asyncpg.Record]]:
    """The read row and its image rows, once records has stored the read (or after 10 s)."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(200):
            read = await conn.fetchrow("SELECT * FROM records.reads WHERE read_id = $1::uuid", read_id)
            if read is not None:
                images = await conn.fetch("SELECT * FROM records.read_images WHERE read_id = $1::uuid", read_id)
                return read, images
            await asyncio.sleep(0.05)
        return None, []
    finally:
        await conn.close()


async def _image(system: Any, read_id: str) -> Any:
    return await system.gateway.get(f"/v1/reads/{read_id}/image", params=PURPOSE, headers=system.token("officer"))


class TestNotImages:
    async def test_html_in_a_data_url_is_not_stored_and_the_read_is_kept_flagged(self, system: Any) -> None:
        posted = await _post(system, {"kind": "plate", "data_b64": "data:text/html;base64," + _b64(HTML)})
        assert posted.status_code == 202, posted.text
        (read_id,) = posted.json()["read_ids"]
        read, images = await _stored(system, read_id)
        assert read is not None and "image_refused" in read["flags"] and not read["has_image"] and images == []
        assert (await _image(system, read_id)).status_code == 404

    async def test_html_in_a_multipart_part_is_not_stored(self, system: Any) -> None:
        event = {"plateUTF8": _plate(), "capture_timestamp": str(int(datetime.now(UTC).timestamp() * 1000))}
        boundary = "b0undary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="event"\r\n\r\n{json.dumps(event)}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            + HTML
            + f"\r\n--{boundary}--\r\n".encode()
        )
        posted = await system.gateway.post(
            "/v1/ingest/axis",
            content=body,
            headers={**system.camera, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert posted.status_code == 202, posted.text
        (read_id,) = posted.json()["read_ids"]
        read, images = await _stored(system, read_id)
        assert read is not None and "image_refused" in read["flags"] and images == []
        assert (await _image(system, read_id)).status_code == 404

    async def test_a_vehicle_with_no_plate_and_no_real_image_is_refused(self, system: Any) -> None:
        body = {
            "data_type": "vehicle",
            "epoch_start": int(datetime.now(UTC).timestamp() * 1000),
            "uuids": [str(uuid.uuid4())],
            "overview_jpeg": _b64(HTML),
        }
        posted = await system.gateway.post("/v1/ingest/openalpr", json=body, headers=system.camera)
        assert posted.status_code == 422 and posted.json()["error"]["code"] == "image_refused"


class TestImagesServed:
    @pytest.mark.parametrize(
        ("data", "content_type", "ext"),
        [(jpeg(), "image/jpeg", "jpg"), (png(), "image/png", "png"), (webp(), "image/webp", "webp")],
    )
    async def test_stored_byte_for_byte_and_served_with_the_three_headers(
        self, system: Any, data: bytes, content_type: str, ext: str
    ) -> None:
        posted = await _post(system, {"kind": "plate", "data_b64": "data:text/html;base64," + _b64(data)})
        (read_id,) = posted.json()["read_ids"]
        read, (image,) = await _stored(system, read_id)
        assert read is not None and read["has_image"]
        assert bytes(image["data"]) == data and image["content_type"] == content_type
        # raw_body names the image by the digest of exactly the stored bytes
        assert json.loads(read["raw_body"])["images"][0]["data_b64"] == "sha256:" + hashlib.sha256(data).hexdigest()
        served = await _image(system, read_id)
        assert served.status_code == 200 and served.content == data
        assert served.headers["content-type"] == content_type
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-security-policy"] == "default-src 'none'"
        assert served.headers["content-disposition"] == f"inline; filename={read_id}.{ext}"

    @pytest.mark.parametrize("stored_type", ["text/html", "image/jpeg\r\nX-Evil: 1", "image/svg+xml"])
    async def test_an_older_row_with_a_bad_type_is_served_as_bytes(self, system: Any, stored_type: str) -> None:
        posted = await _post(system, {"kind": "plate", "data_b64": _b64(jpeg())})
        (read_id,) = posted.json()["read_ids"]
        await _stored(system, read_id)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            await conn.execute(
                "UPDATE records.read_images SET content_type = $2, data = $3 WHERE read_id = $1::uuid",
                read_id,
                stored_type,
                HTML,
            )
        finally:
            await conn.close()
        served = await _image(system, read_id)
        assert served.status_code == 200 and served.content == HTML
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["x-content-type-options"] == "nosniff" and "x-evil" not in served.headers
        assert served.headers["content-disposition"] == f"inline; filename={read_id}.bin"


class TestSize:
    async def test_an_image_of_7_9_mib_as_base64_json_is_accepted_and_stored(self, system: Any) -> None:
        data = big_png(int(7.9 * 1024 * 1024))
        posted = await _post(system, {"kind": "overview", "data_b64": _b64(data)})
        assert posted.status_code == 202, posted.text
        read, (image,) = await _stored(system, posted.json()["read_ids"][0])
        assert read is not None and bytes(image["data"]) == data and image["content_type"] == "image/png"
        assert len(read["raw_body"]) < 1024  # the image is in the message once: raw_body names it
        assert digest(data) in read["raw_body"]

    async def test_an_image_of_9_mib_is_413(self, system: Any) -> None:
        posted = await _post(system, {"kind": "overview", "data_b64": _b64(b"\x89PNG\r\n\x1a\n" + bytes(9 << 20))})
        assert posted.status_code == 413 and posted.json()["error"]["code"] in {"image_too_large", "payload_too_large"}

    async def test_the_bus_carries_the_largest_post_and_matches_the_deployed_config(self, system: Any) -> None:
        max_payload = system.runtime("gateway").bus.nc.max_payload
        deployed = re.search(r"^max_payload:\s*(\d+)MB", NATS_CONF.read_text(), re.MULTILINE)
        assert deployed and max_payload == int(deployed.group(1)) << 20
        # a whole body of image parts, base64 in the read's message, with room for its headers and fields
        body_limit = system.runtime("gateway").settings.max_body_bytes
        assert (body_limit + 2) // 3 * 4 + 64 * 1024 <= max_payload - HEADER_ROOM
        assert (IMAGE_MAX_BYTES + 2) // 3 * 4 < body_limit

    async def test_a_batch_of_big_images_splits_into_messages_the_bus_takes(self, system: Any) -> None:
        data = big_png(150 * 1024)  # three reads are over the bundle's byte bound; the post stays under 12 MiB
        now = datetime.now(UTC).isoformat()
        reads = [
            {"plate": _plate(), "captured_at": now, "images": [{"kind": "plate", "data_b64": _b64(data)}]}
            for _ in range(BUNDLE_READS + 1)
        ]
        posted = await system.gateway.post("/v1/reads", json={"reads": reads}, headers=system.camera)
        assert posted.status_code == 202 and posted.json()["accepted"] == BUNDLE_READS + 1, posted.text
        for read_id in (posted.json()["read_ids"][0], posted.json()["read_ids"][-1]):
            read, (image,) = await _stored(system, read_id)
            assert read is not None and bytes(image["data"]) == data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
