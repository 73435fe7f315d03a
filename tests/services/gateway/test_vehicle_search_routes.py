"""Search by vehicle through the gateway: OpenALPR captures found by make, colour and body type under approval."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.services.gateway.test_broad_search_approval import decide, request_approval, search
from tests.services.gateway.test_first_path import unique_plate
from tests.services.gateway.test_ingest_routes import fresh, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")

WHITE_BMW_X3 = {
    "color": [{"name": "white", "confidence": 88.1}, {"name": "silver-gray", "confidence": 7.2}],
    "make": [{"name": "bmw", "confidence": 91.4}, {"name": "mercedes-benz", "confidence": 3.1}],
    "make_model": [{"name": "bmw_x3", "confidence": 62.0}, {"name": "bmw_x5", "confidence": 20.3}],
    "body_type": [{"name": "suv-crossover", "confidence": 80.2}, {"name": "van-mini", "confidence": 9.9}],
    "year": [{"name": "2015-2019", "confidence": 44.0}],
    "orientation": [{"name": "90", "confidence": 70.0}],
}
WHITE_KENWORTH = {
    "color": [{"name": "white", "confidence": 90.3}],
    "make": [{"name": "kenworth", "confidence": 85.9}],
    "make_model": [{"name": "kenworth_t680", "confidence": 40.0}],
    "body_type": [{"name": "truck-tractor", "confidence": 77.5}],
    "year": [{"name": "2015-2019", "confidence": 30.0}],
}


async def capture(system: Any, plate: str, vehicle: dict[str, Any], spot: tuple[float, float]) -> str:
    """An OpenALPR agent's alpr_group for this plate and vehicle at `spot`, posted as the camera; its read id."""
    group = json.loads(fresh("openalpr_agent_alpr_group_v2.json"))
    group["uuids"] = [f"VEHTEST-{uuid.uuid4().hex}-1234-{int(datetime.now(UTC).timestamp() * 1000)}"]
    group["plate_indexes"] = [0]
    group["best_plate_number"] = plate
    group["candidates"] = [{"plate": plate, "confidence": 93.0, "matches_template": 1}]
    group["best_plate"] = {**group["best_plate"], "plate": plate, "candidates": group["candidates"]}
    group.update(gps_latitude=spot[0], gps_longitude=spot[1], vehicle=vehicle)
    response = await system.gateway.post(
        "/v1/ingest/openalpr", json=group, headers={**system.camera, "Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text
    (read_id,) = response.json()["read_ids"]
    return str(read_id)


@pytest.fixture
async def roadside(system: Any) -> dict[str, Any]:
    """A white BMW X3 and a white Kenworth tractor-trailer captured side by side at a spot of this test's own."""
    spot = (round(random.uniform(36.0, 36.9), 5), round(random.uniform(-120.9, -120.0), 5))
    plates = {"bmw": unique_plate(), "kenworth": unique_plate()}
    ids = {
        "bmw": await capture(system, plates["bmw"], WHITE_BMW_X3, spot),
        "kenworth": await capture(system, plates["kenworth"], WHITE_KENWORTH, spot),
    }
    assert len(await stored(system, list(ids.values()))) == 2
    now = datetime.now(UTC).replace(microsecond=0)
    query = {
        "since": (now - timedelta(hours=2)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
        "area": {"lat": spot[0], "lon": spot[1], "radius_m": 250},
    }
    return {"ids": ids, "plates": plates, "query": query}


async def approved(system: Any, query: dict[str, Any]) -> str:
    """A supervisor's granted approval of this query, asked for by the analyst."""
    approval = await request_approval(system, system.token("analyst"), query)
    granted = await decide(system, approval["approval_id"], system.token("supervisor"))
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    return str(approval["approval_id"])


class TestVehicleSearch:
    async def test_finds_the_white_bmw_suv_not_the_kenworth_beside_it(self, system: Any, roadside: Any) -> None:
        query = {**roadside["query"], "vehicle": {"make": "BMW", "color": "white", "body_type": "suv"}}
        found = await search(system, query, system.token("analyst"), await approved(system, query))
        assert found.status_code == 200, found.text
        (read,) = found.json()["reads"]
        assert read["read_id"] == roadside["ids"]["bmw"]
        shown = read["vehicle_attributes"]
        assert (shown["make"], shown["model"], shown["color"], shown["body_type"]) == (
            "BMW", "x3", "white", "suv-crossover",
        )  # fmt: skip
        assert shown["confidence"]["make"] == pytest.approx(0.914) and shown["raw"]["body_type"] == "suv-crossover"
        # the colour alone finds both, newest first
        white = {**roadside["query"], "vehicle": {"color": "white"}}
        both = await search(system, white, system.token("analyst"), await approved(system, white))
        assert [r["read_id"] for r in both.json()["reads"]] == [roadside["ids"]["kenworth"], roadside["ids"]["bmw"]]

    async def test_refused_without_approval(self, system: Any, roadside: Any) -> None:
        query = {**roadside["query"], "vehicle": {"make": "BMW", "color": "white", "body_type": "suv"}}
        refused = await search(system, query, system.token("analyst"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "approval_required"
        assert "no_plate" in refused.json()["error"]["details"]["broad"]
        # nor does an approval of another vehicle serve it
        other = await approved(system, {**query, "vehicle": {"make": "Kenworth"}})
        mismatch = await search(system, query, system.token("analyst"), other)
        assert mismatch.status_code == 403 and mismatch.json()["error"]["code"] == "approval_mismatch"

    async def test_a_vehicle_only_search_is_broad_even_in_a_short_window(self, system: Any) -> None:
        now = datetime.now(UTC)
        query = {"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat(),
                 "vehicle": {"color": "white", "body_type": "pickup"}}  # fmt: skip
        refused = await search(system, query, system.token("officer"))
        assert refused.status_code == 403 and refused.json()["error"]["details"]["broad"] == ["no_plate"]

    async def test_with_a_partial_plate(self, system: Any, roadside: Any) -> None:
        plate = roadside["plates"]["bmw"]
        query = {**roadside["query"], "plate": f"{plate[:5]}*", "match": "partial", "vehicle": {"color": "white"}}
        found = await search(system, query, system.token("analyst"), await approved(system, query))
        assert [r["read_id"] for r in found.json()["reads"]] == [roadside["ids"]["bmw"]]

    @pytest.mark.parametrize(
        ("vehicle", "field"),
        [
            ({"make": "Trabbimobile"}, "body.query.vehicle.make"),
            ({"color": "white", "body_type": "hovercraft"}, "body.query.vehicle.body_type"),
            ({"colour": "white"}, "body.query.vehicle.colour"),
        ],
    )
    async def test_an_unknown_field_or_value_is_422_naming_it(
        self, system: Any, roadside: Any, vehicle: dict[str, Any], field: str
    ) -> None:
        query = {**roadside["query"], "vehicle": vehicle}
        refused = await search(system, query, system.token("analyst"))
        assert refused.status_code == 422 and refused.json()["error"]["fields"] == [field]
