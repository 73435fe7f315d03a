"""Our own request bodies refuse fields they do not know, naming them, instead of silently ignoring them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.services.gateway.test_first_path import PURPOSE, unique_plate

pytestmark = pytest.mark.asyncio(loop_scope="session")


def query(**extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    window = {"since": (now - timedelta(hours=2)).isoformat(), "until": now.isoformat()}
    return {"plate": unique_plate(), **window, **extra}


async def refused_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return list(error["fields"])


class TestSearchBodies:
    async def test_an_unknown_query_field_is_refused_by_name(self, system: Any) -> None:
        # issue #23: `make: toyota` was ignored and the search returned a Ford
        response = await system.gateway.post(
            "/v1/searches", json={"query": query(make="toyota"), "purpose": PURPOSE}, headers=system.token("officer")
        )
        assert await refused_fields(response) == ["body.query.make"]

    async def test_unknown_fields_of_the_body_and_the_area_are_refused_by_name(self, system: Any) -> None:
        body = {"query": query(area={"lat": 37.3, "lon": -121.8, "radius_m": 50, "radius_km": 1}), "purpose": PURPOSE}
        response = await system.gateway.post(
            "/v1/searches", json={**body, "colour": "red"}, headers=system.token("officer")
        )
        assert sorted(await refused_fields(response)) == ["body.colour", "body.query.area.radius_km"]

    async def test_the_same_search_without_them_is_answered(self, system: Any) -> None:
        response = await system.gateway.post(
            "/v1/searches", json={"query": query(), "purpose": PURPOSE}, headers=system.token("officer")
        )
        assert response.status_code == 200, response.text


class TestCameraBodies:
    async def test_a_misspelt_camera_position_is_refused_by_name(self, system: Any) -> None:
        body = {"camera_id": f"cam-{uuid.uuid4().hex[:8]}", "vendor": "openalpr", "lattitude": 37.3}
        response = await system.gateway.post("/v1/admin/cameras", json=body, headers=system.token("admin"))
        assert await refused_fields(response) == ["body.lattitude"]
