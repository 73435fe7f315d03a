"""A fixed camera's registered position fills its reads that carry none, so area searches find them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.reads import ReadIn
from services.gateway.ingest.positions import place_at_camera
from tests.services.gateway.test_broad_search_approval import decide, request_approval
from tests.services.gateway.test_first_path import PURPOSE, unique_plate, wait_stored

STORY_RD = (37.3312, -121.8590)  # a fixed camera on Story Road; nothing else in the tests stands there


async def register(system: Any, **position: float) -> str:
    camera_id = f"cam-{uuid.uuid4().hex[:8]}"
    response = await system.gateway.post(
        "/v1/admin/cameras",
        json={"camera_id": camera_id, "vendor": "openalpr", "name": "Story Rd eastbound", **position},
        headers=system.token("admin"),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["credential"])


async def post(system: Any, credential: str, plate: str, **position: float) -> str:
    body = {"plate": plate, "captured_at": datetime.now(UTC).isoformat(), **position}
    response = await system.gateway.post("/v1/reads", json=body, headers={"Authorization": f"Bearer {credential}"})
    assert response.status_code == 202, response.text
    read_id = str(response.json()["read_ids"][0])
    assert await wait_stored(system, read_id) == 1
    return read_id


async def detail(system: Any, read_id: str) -> dict[str, Any]:
    response = await system.gateway.get(f"/v1/reads/{read_id}", params=PURPOSE, headers=system.token("officer"))
    assert response.status_code == 200, response.text
    return dict(response.json())


class TestCameraPosition:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_a_read_without_gps_takes_its_cameras_position_and_an_area_search_finds_it(self, system: Any) -> None:
        credential = await register(system, latitude=STORY_RD[0], longitude=STORY_RD[1])
        no_gps = await post(system, credential, unique_plate())
        own_gps = await post(system, credential, unique_plate(), latitude=STORY_RD[0] + 0.0004, longitude=STORY_RD[1])

        placed = await detail(system, no_gps)
        assert (placed["latitude"], placed["longitude"], placed["location_from_camera"]) == (*STORY_RD, True)
        kept = await detail(system, own_gps)
        assert (kept["latitude"], kept["location_from_camera"]) == (STORY_RD[0] + 0.0004, False)

        now = datetime.now(UTC).replace(microsecond=0)
        query = {
            "area": {"lat": STORY_RD[0], "lon": STORY_RD[1], "radius_m": 100},
            "since": (now - timedelta(hours=1)).isoformat(),
            "until": (now + timedelta(minutes=5)).isoformat(),
        }
        analyst = system.token("analyst")
        approval = await request_approval(system, analyst, query)
        granted = await decide(system, approval["approval_id"], system.token("supervisor"))
        assert granted.status_code == 200, granted.text
        found = await system.gateway.post(
            "/v1/searches",
            json={"query": query, "purpose": PURPOSE, "approval_id": approval["approval_id"]},
            headers=analyst,
        )
        assert found.status_code == 200, found.text
        reads = {r["read_id"]: r["location_from_camera"] for r in found.json()["reads"]}
        assert reads == {no_gps: True, own_gps: False}

    async def test_a_camera_registered_without_a_position_leaves_reads_without_one(self, system: Any) -> None:
        credential = await register(system)
        placed = await detail(system, await post(system, credential, unique_plate()))
        assert (placed["latitude"], placed["longitude"], placed["location_from_camera"]) == (None, None, False)


class TestPlaceAtCameraRule:
    def test_only_a_read_with_no_position_is_placed(self) -> None:
        now = datetime.now(UTC)
        bare = ReadIn(read_id="a", agency="CA0430000", camera_id="c", captured_at=now)
        own = ReadIn(read_id="b", agency="CA0430000", camera_id="c", captured_at=now, latitude=1.0, longitude=2.0)
        place_at_camera([bare, own], *STORY_RD)
        assert (bare.latitude, bare.longitude, bare.location_from_camera) == (*STORY_RD, True)
        assert (own.latitude, own.longitude, own.location_from_camera) == (1.0, 2.0, False)
