"""The shape of a camera post: a post of many results stores each read's own result as its evidence (not the
whole post once per result), a read id repeated within one post is refused rather than silently losing one
read, and a form of thousands of parts or a read of thousands of images is refused before they are parsed."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from libs.common.errors import AlprError, PayloadTooLarge
from libs.common.images import digest
from services.gateway.ingest import ParsedPayload, parse_payload
from services.gateway.ingest.formdata import FORM_PARTS_MAX
from services.gateway.ingest.images import READ_IMAGES_MAX
from tests.utils.image_samples import jpeg


def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def epoch_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def parse(body: bytes, content_type: str = "application/json", fmt: str | None = None) -> ParsedPayload:
    return parse_payload(
        body, content_type, format=fmt, agency="ca-sfpd", camera_id="cam-7", received_at=datetime.now(UTC)
    )


async def post(system: Any, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return await system.gateway.post(path, content=body, headers={**system.camera, "Content-Type": content_type})


async def rows_like(system: Any, pattern: str, want: int, *, settle: float = 0.0) -> list[asyncpg.Record]:
    """records.reads rows whose plate matches, once `want` of them are stored (or 10 s have passed)."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            rows = await conn.fetch(
                "SELECT plate, raw_body FROM records.reads WHERE plate LIKE $1 ORDER BY plate", pattern
            )
            if len(rows) >= want or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        if settle:  # what must not arrive has had the time to
            await asyncio.sleep(settle)
            rows = await conn.fetch(
                "SELECT plate, raw_body FROM records.reads WHERE plate LIKE $1 ORDER BY plate", pattern
            )
        return rows
    finally:
        await conn.close()


def form(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "shapeBoundary7MA4YWxk"
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + data + b"\r\n"
        for name, data in parts
    ]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class TestEachReadKeepsItsOwnResult:
    async def test_a_post_of_many_results_stores_about_its_own_size(self, system) -> None:
        run, count = tag(), 60
        doc = {
            "data_type": "alpr_results",
            "version": 2,
            "epoch_time": epoch_ms(),
            "uuid": str(uuid.uuid4()),
            "agent_uid": "agent-7",
            # a large shared field: stored once per result it made the post's storage grow with the square
            "agent_notes": base64.b64encode(os.urandom(60_000)).decode(),
            "results": [{"plate": f"W{run}{i:03d}", "confidence": 90, "plate_index": i} for i in range(count)],
        }
        body = json.dumps(doc).encode()
        response = await post(system, "/push/", body)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == count
        rows = await rows_like(system, f"W{run}%", count)
        assert len(rows) == count
        assert sum(len(r["raw_body"].encode()) for r in rows) < 2 * len(body)  # not count x len(body)
        for row in rows:
            kept = json.loads(row["raw_body"])
            (own,) = kept["results"]
            assert own["plate"] == row["plate"]
            # the post's small shared fields go with each result; its large one does not
            assert kept["uuid"] == doc["uuid"] and kept["agent_uid"] == "agent-7" and "agent_notes" not in kept

    def test_plate_recognizer_results_keep_the_hook_and_their_own_result(self) -> None:
        doc = {
            "hook": {"target": "http://example/", "id": 2, "event": "image.done"},
            "data": {
                "timestamp": "2026-01-02T10:00:00Z",
                "camera_id": "gate",
                "filename": "f.jpg",
                "results": [{"plate": "abc123", "score": 0.9}, {"plate": "xyz789", "score": 0.8}],
            },
        }
        payload = parse(json.dumps(doc).encode(), fmt="platerecognizer")
        for read, sent in zip(payload.reads, doc["data"]["results"], strict=True):
            kept = json.loads(read.raw_body or "")
            assert kept["hook"] == doc["hook"] and kept["data"]["camera_id"] == "gate"
            assert kept["data"]["results"] == [sent]

    def test_a_result_keeps_its_crop_named_by_digest(self) -> None:
        crop = base64.b64encode(jpeg()).decode()
        doc = {
            "data_type": "alpr_results",
            "epoch_time": epoch_ms(),
            "uuid": "u-1",
            "results": [{"plate": "ABC123", "plate_crop_jpeg": crop}, {"plate": "XYZ789"}],
        }
        first, _ = parse(json.dumps(doc).encode(), fmt="openalpr").reads
        (own,) = json.loads(first.raw_body or "")["results"]
        assert own["plate_crop_jpeg"] == digest(jpeg()) and crop not in (first.raw_body or "")

    def test_one_result_keeps_the_post_as_sent(self) -> None:
        body = json.dumps(
            {"data_type": "alpr_results", "epoch_time": epoch_ms(), "uuid": "u-2", "results": [{"plate": "ABC1"}]},
            indent=2,
        ).encode()
        (read,) = parse(body, fmt="openalpr").reads
        assert read.raw_body == body.decode()


class TestARepeatedIdWithinAPost:
    async def test_a_native_batch_refuses_the_second_read_of_one_id(self, system) -> None:
        run, own, now = tag(), str(uuid.uuid4()), datetime.now(UTC).isoformat()
        batch = {
            "reads": [
                {"plate": f"P{run}A", "captured_at": now, "read_id": own},
                {"plate": f"P{run}B", "captured_at": now, "read_id": own},
            ]
        }
        response = await post(system, "/v1/reads", json.dumps(batch).encode())
        assert response.status_code == 202, response.text
        reply = response.json()
        assert (reply["accepted"], reply["duplicates"]) == (1, 0)
        assert [(r["index"], r["code"], r["field"]) for r in reply["rejected"]] == [
            (1, "repeated_in_post", "reads[1].read_id")
        ]
        rows = await rows_like(system, f"P{run}%", 1, settle=1.0)
        assert [r["plate"] for r in rows] == [f"P{run}A"]  # what the answer says was taken, and nothing else

    async def test_openalpr_results_refuse_a_repeated_plate_index(self, system) -> None:
        run = tag()
        doc = {
            "data_type": "alpr_results",
            "epoch_time": epoch_ms(),
            "uuid": str(uuid.uuid4()),
            "results": [{"plate": f"R{run}A", "plate_index": 0}, {"plate": f"R{run}B", "plate_index": 0}],
        }
        response = await post(system, "/push/", json.dumps(doc).encode())
        assert response.status_code == 202, response.text
        reply = response.json()
        assert reply["accepted"] == 1
        assert [(r["index"], r["code"], r["field"]) for r in reply["rejected"]] == [
            (1, "repeated_in_post", "results[1].plate_index")
        ]
        rows = await rows_like(system, f"R{run}%", 1, settle=1.0)
        assert [r["plate"] for r in rows] == [f"R{run}A"]

    def test_the_same_id_refused_first_leaves_the_second_taken(self) -> None:
        own, now = str(uuid.uuid4()), datetime.now(UTC).isoformat()
        batch = {
            "reads": [
                {"plate": "AB1", "captured_at": "not a time", "read_id": own},
                {"plate": "CD2", "captured_at": now, "read_id": own},
            ]
        }
        payload = parse(json.dumps(batch).encode(), fmt="native")
        assert [r.plate for r in payload.reads] == ["CD2"]
        assert [r["code"] for r in payload.rejected] == ["invalid_field"]


class TestPartsAndImagesAreBounded:
    def test_a_form_of_thousands_of_parts_is_refused_before_they_are_parsed(self) -> None:
        body, ctype = form([("json", b"{}")] + [(f"p{i}", b"x") for i in range(130_000)])
        with pytest.raises(PayloadTooLarge) as refused:
            parse(body, ctype, fmt="platerecognizer")
        assert refused.value.code == "too_many_parts" and refused.value.status == 413

    def test_a_form_at_the_limit_is_parsed(self) -> None:
        stamp = datetime.now(UTC).isoformat()
        doc = json.dumps({"timestamp": stamp, "results": [{"plate": "abc123", "score": 0.9}]}).encode()
        body, ctype = form([("json", doc)] + [(f"p{i}", b"x") for i in range(FORM_PARTS_MAX - 1)])
        (read,) = parse(body, ctype, fmt="platerecognizer").reads
        assert read.plate == "ABC123"

    def test_a_url_encoded_form_of_thousands_of_fields_is_refused(self) -> None:
        body = b"&".join(b"f%d=x" % i for i in range(10_000))
        with pytest.raises(PayloadTooLarge) as refused:
            parse(body, "application/x-www-form-urlencoded", fmt="platerecognizer")
        assert refused.value.code == "too_many_parts"

    async def test_the_route_answers_413_with_the_code(self, system) -> None:
        body, ctype = form([(f"p{i}", b"x") for i in range(FORM_PARTS_MAX + 1)])
        response = await post(system, "/v1/ingest/axis", body, ctype)
        assert response.status_code == 413, response.text
        assert response.json()["error"]["code"] == "too_many_parts"

    def test_a_read_of_many_images_is_refused_before_they_are_decoded(self) -> None:
        now = datetime.now(UTC).isoformat()
        images = [{"kind": "plate", "data_b64": "AAAA"}] * (READ_IMAGES_MAX + 1)
        batch = {
            "reads": [{"plate": "AB1", "captured_at": now, "images": images}, {"plate": "CD2", "captured_at": now}]
        }
        payload = parse(json.dumps(batch).encode(), fmt="native")
        assert [r.plate for r in payload.reads] == ["CD2"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (0, "too_many_images", "reads[0].images")
        ]
        with pytest.raises(AlprError) as refused:
            parse(json.dumps(batch["reads"][0]).encode(), fmt="native")
        assert refused.value.code == "too_many_images" and refused.value.status == 422
