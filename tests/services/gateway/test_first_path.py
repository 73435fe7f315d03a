"""The first path end to end: camera → READS → records → audited search, over real NATS and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

PURPOSE = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on Story Road",
}


def window(hours: int = 24) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "since": (now - timedelta(hours=hours)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }


def unique_plate() -> str:
    return "7" + uuid.uuid4().hex[:6].upper().replace("O", "0")


async def wait_stored(system, read_id: str, timeout: float = 10.0) -> int:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            count = await conn.fetchval("SELECT count(*) FROM records.reads WHERE read_id = $1::uuid", read_id)
            if count or asyncio.get_running_loop().time() > deadline:
                return int(count)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def post_read(system, plate: str, **extra):  # type: ignore[no-untyped-def]
    body = {
        "plate": plate,
        "captured_at": datetime.now(UTC).isoformat(),
        "latitude": 37.33,
        "longitude": -121.88,
        "confidence": 0.91,
        **extra,
    }
    return await system.gateway.post("/v1/reads", json=body, headers=system.camera)


class TestCameraPostsARead:
    async def test_returns_202_with_the_read_id_and_records_commits_it(self, system) -> None:
        plate = unique_plate()
        response = await post_read(system, plate)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["accepted"] == 1 and len(body["read_ids"]) == 1
        assert await wait_stored(system, body["read_ids"][0]) == 1

    async def test_the_same_read_posted_again_is_stored_once(self, system) -> None:
        plate = unique_plate()
        captured = datetime.now(UTC).isoformat()
        first = await post_read(system, plate, captured_at=captured, read_id="cam-seq-1")
        second = await post_read(system, plate, captured_at=captured, read_id="cam-seq-1")
        assert first.json()["read_ids"] == second.json()["read_ids"]
        assert second.json()["duplicates"] == 1
        read_id = first.json()["read_ids"][0]
        assert await wait_stored(system, read_id) == 1
        await asyncio.sleep(0.3)
        assert await wait_stored(system, read_id) == 1

    async def test_no_credential_gets_401(self, system) -> None:
        response = await system.gateway.post("/v1/reads", json={"plate": "ABC123"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"


class TestOfficerSearches:
    async def test_exact_plate_search_returns_the_read_after_its_audit_record_is_persisted(self, system) -> None:
        plate = unique_plate()
        posted = await post_read(system, plate)
        read_id = posted.json()["read_ids"][0]
        await wait_stored(system, read_id)
        response = await system.gateway.post(
            "/v1/searches",
            json={"query": {"plate": plate, **window()}, "purpose": PURPOSE},
            headers=system.token("officer"),
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert [r["read_id"] for r in result["reads"]] == [read_id]
        assert result["reads"][0]["plate"] == plate

        # the access record exists the moment the data is returned, with every A1 field, chained
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            row = await conn.fetchrow("SELECT * FROM audit.access_records WHERE event_id = $1", result["search_id"])
            previous = await conn.fetchrow("SELECT hash FROM audit.access_records WHERE seq = $1", row["seq"] - 1)
        finally:
            await conn.close()
        assert row is not None
        actor, payload = json.loads(row["actor"]), json.loads(row["payload"])
        assert row["event_type"] == "search" and row["occurred_at"] is not None
        assert actor["name"] == "Dev Officer" and actor["badge"] == "1001" and actor["agency"]
        assert payload["query"]["plate"] == plate
        assert payload["purpose"] == PURPOSE
        assert payload["client_address"] == "203.0.113.7"
        assert payload["result_count"] == 1 and payload["result_ids"] == [read_id]
        expected_prev = previous["hash"] if previous else "0" * 64
        assert row["prev_hash"] == expected_prev

    async def test_search_without_purpose_gets_422_and_no_data(self, system) -> None:
        response = await system.gateway.post(
            "/v1/searches", json={"query": {"plate": "ABC123", **window()}}, headers=system.token("officer")
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"
        assert "reads" not in response.json()

    async def test_search_without_token_gets_401(self, system) -> None:
        response = await system.gateway.post(
            "/v1/searches", json={"query": {"plate": "ABC123", **window()}, "purpose": PURPOSE}
        )
        assert response.status_code == 401

    async def test_camera_credential_gets_403_on_search(self, system) -> None:
        response = await system.gateway.post(
            "/v1/searches",
            json={"query": {"plate": "ABC123", **window()}, "purpose": PURPOSE},
            headers=system.camera,
        )
        # a camera credential is not a person's token: it is refused before any data is touched
        assert response.status_code in (401, 403)
