"""Camera ingest over HTTP: vendor samples stored as sent, previews replaced, bad input refused cleanly."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

SAMPLES = (
    Path(os.environ.get("ALPR_SHARED_DIR", Path(__file__).resolve().parents[4] / "shared")) / "samples" / "vendors"
)


def fresh(name: str) -> bytes:
    """The vendor sample with its capture times moved to now, so retention keeps it."""
    text = (SAMPLES / name).read_text(encoding="utf-8-sig")
    now = datetime.now(UTC)
    ms = str(int(now.timestamp() * 1000))
    text = re.sub(r'("epoch_(?:start|end|time)"\s*:\s*)\d+', rf"\g<1>{ms}", text)
    text = re.sub(r'("timestamp(?:_local)?"\s*:\s*)"[^"]*"', rf'\1"{now.isoformat()}"', text)
    text = re.sub(r'("Timestamp"\s*:\s*)"[^"]*"', rf'\1"{now.isoformat()}"', text)
    text = re.sub(r"<Timestamp>[^<]*</Timestamp>", f"<Timestamp>{now.isoformat()}</Timestamp>", text)
    text = re.sub(r"<dateTime>[^<]*</dateTime>", f"<dateTime>{now.isoformat()}</dateTime>", text)
    text = re.sub(r"<absTime>\d+</absTime>", f"<absTime>{now:%Y%m%d%H%M%S}000</absTime>", text)
    return text.encode()


async def stored(system, read_ids: list[str], timeout: float = 10.0) -> list[asyncpg.Record]:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await conn.fetch(
                "SELECT * FROM records.reads WHERE read_id = ANY($1::uuid[]) ORDER BY read_id", read_ids
            )
            if len(rows) >= len(read_ids) or asyncio.get_running_loop().time() > deadline:
                return rows
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


class TestVendorSamples:
    @pytest.mark.parametrize(
        ("sample", "content_type", "plate"),
        [
            ("openalpr_agent_alpr_group_v2.json", "application/json", "D2651BF"),
            ("openalpr_agent_alpr_results_v2.json", "application/json", None),
            ("genetec_sharpv_http_read.json", "application/json", None),
            ("genetec_sharpv_http_read.xml", "application/xml", None),
            ("hikvision_anpr_EventNotificationAlert.xml", "application/xml", None),
            ("platerecognizer_snapshot_webhook_image_done.json", "application/json", None),
        ],
    )
    async def test_detected_stored_with_raw_body(self, system, sample: str, content_type: str, plate) -> None:  # type: ignore[no-untyped-def]
        body = fresh(sample)
        response = await system.gateway.post(
            "/v1/ingest", content=body, headers={**system.camera, "Content-Type": content_type}
        )
        assert response.status_code == 202, response.text
        reply = response.json()
        assert reply["accepted"] >= 1
        rows = await stored(system, reply["read_ids"])
        assert len(rows) == reply["accepted"]
        for row in rows:
            assert row["vendor_format"].split(".")[0] == reply["format"]
            assert row["raw_body"]
            assert row["camera_id"] == "dev-cam-1"
            assert row["plate"] is None or re.fullmatch(r"[A-Z0-9]{1,15}", row["plate"])
        if plate:
            assert plate in {r["plate"] for r in rows}

    async def test_the_same_vendor_post_twice_stores_once(self, system) -> None:
        body = fresh("genetec_sharpv_http_read.json")
        headers = {**system.camera, "Content-Type": "application/json"}
        first = await system.gateway.post("/v1/ingest/genetec", content=body, headers=headers)
        second = await system.gateway.post("/v1/ingest/genetec", content=body, headers=headers)
        assert first.json()["read_ids"] == second.json()["read_ids"]
        assert len(await stored(system, first.json()["read_ids"])) == 1

    async def test_heartbeat_is_accepted_and_marks_the_camera_seen(self, system) -> None:
        response = await system.gateway.post(
            "/push/",
            content=fresh("openalpr_agent_heartbeat_v2.json"),
            headers={**system.camera, "Content-Type": "application/json"},
        )
        assert response.status_code == 202 and response.json()["kind"] == "heartbeat"
        await asyncio.sleep(1.3)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            seen = await conn.fetchval("SELECT last_seen_at FROM gateway.cameras WHERE camera_id = 'dev-cam-1'")
        finally:
            await conn.close()
        assert seen is not None and (datetime.now(UTC) - seen).total_seconds() < 10


class TestPreviewReplaced:
    async def test_final_group_removes_its_preview(self, system) -> None:
        group = json.loads(fresh("openalpr_agent_alpr_group_v2.json"))
        group["uuids"] = [f"PREVIEWTEST-{datetime.now(UTC).timestamp()}"]
        headers = {**system.camera, "Content-Type": "application/json"}
        preview = await system.gateway.post("/push/", json={**group, "is_preview": True}, headers=headers)
        preview_ids = preview.json()["read_ids"]
        assert len(await stored(system, preview_ids)) == 1
        final = await system.gateway.post("/push/", json={**group, "is_preview": False}, headers=headers)
        final_ids = final.json()["read_ids"]
        assert final_ids != preview_ids
        assert len(await stored(system, final_ids)) == 1
        assert await stored(system, preview_ids, timeout=0.5) == []


class TestBadInput:
    async def test_malformed_json_is_400_with_a_stable_code(self, system) -> None:
        response = await system.gateway.post(
            "/v1/ingest/openalpr",
            content=b'{"data_type": "alpr_group", ',
            headers={**system.camera, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed_json"

    async def test_unknown_format_is_422(self, system) -> None:
        response = await system.gateway.post("/v1/ingest/flock", content=b"{}", headers=system.camera)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "unknown_format"

    async def test_body_over_the_limit_is_413(self, system) -> None:
        big = b"x" * (system.runtime("gateway").settings.max_body_bytes + 1)
        response = await system.gateway.post("/v1/reads", content=big, headers=system.camera)
        assert response.status_code == 413

    async def test_a_chunked_body_over_the_limit_is_413(self, system) -> None:
        limit = system.runtime("gateway").settings.max_body_bytes

        async def chunks():  # no Content-Length: the gateway counts as it reads
            for _ in range(limit // 65536 + 2):
                yield b"x" * 65536

        response = await system.gateway.post("/v1/reads", content=chunks(), headers=system.camera)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

    @pytest.mark.parametrize("plate", ["ABCDEFGHIJKLMNOP1", "---", ""])
    async def test_plate_too_long_or_without_characters_is_refused(self, system, plate: str) -> None:
        response = await system.gateway.post(
            "/v1/reads", json={"plate": plate, "captured_at": datetime.now(UTC).isoformat()}, headers=system.camera
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] in {"invalid_plate", "invalid_field"}

    async def test_an_image_that_does_not_decode_keeps_the_read_and_flags_it(self, system) -> None:
        response = await system.gateway.post(
            "/v1/reads",
            json={
                "plate": "4UND3CD",
                "captured_at": datetime.now(UTC).isoformat(),
                "images": [{"kind": "plate", "data_b64": base64.b64encode(b"not a jpeg").decode()}],
            },
            headers=system.camera,
        )
        assert response.status_code == 202, response.text
        rows = await stored(system, response.json()["read_ids"])
        assert len(rows) == 1
        assert "image_refused" in rows[0]["flags"] and not rows[0]["has_image"]
