"""Records keeps only images by the gateway's rule, whoever published the read: sniffed type, exact bytes."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.reads import ReadImage, ReadIn
from libs.common.images import digest
from libs.common.streams import reads_subject
from tests.utils.image_samples import jpeg, png

pytestmark = pytest.mark.asyncio(loop_scope="session")

HTML = b"<html><script>alert(1)</script></html>"


async def _publish_and_fetch(system: Any, images: list[ReadImage]) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
    read = ReadIn(
        read_id=str(uuid.uuid4()),
        agency="CA0430000",
        camera_id="dev-cam-1",
        captured_at=datetime.now(UTC),
        plate="4IMG" + uuid.uuid4().hex[:4].upper(),
        images=images,
    )
    bus = system.runtime("gateway").bus
    await bus.publish_durable(
        reads_subject(read.agency, read.camera_id), read.model_dump_json().encode(), msg_id=read.read_id
    )
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(200):
            row = await conn.fetchrow(
                "SELECT flags, has_image FROM records.reads WHERE read_id = $1::uuid", read.read_id
            )
            if row is not None:
                kept = await conn.fetch(
                    "SELECT kind, content_type, data FROM records.read_images WHERE read_id = $1::uuid ORDER BY kind",
                    read.read_id,
                )
                return row, kept
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("the read was not stored")


def _image(kind: str, data: bytes, content_type: str, **extra: Any) -> ReadImage:
    return ReadImage(kind=kind, content_type=content_type, data_b64=base64.b64encode(data).decode(), **extra)  # type: ignore[arg-type]


class TestStoredImages:
    async def test_only_images_are_stored_under_their_sniffed_type(self, system: Any) -> None:
        row, kept = await _publish_and_fetch(
            system,
            [_image("overview", HTML, "text/html"), _image("plate", png(), "text/html")],
        )
        assert [(k["kind"], k["content_type"], bytes(k["data"])) for k in kept] == [("plate", "image/png", png())]
        assert row["has_image"] and "image_refused" in row["flags"]

    async def test_an_image_that_is_not_what_its_digest_names_is_not_stored(self, system: Any) -> None:
        row, kept = await _publish_and_fetch(system, [_image("plate", jpeg(), "image/jpeg", digest=digest(png()))])
        assert kept == [] and not row["has_image"] and "image_undecodable" in row["flags"]
