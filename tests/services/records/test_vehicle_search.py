"""Search by vehicle at records: the attributes ingest stored, alone or with a plate, years and the area."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.contracts.reads import ReadIn
from libs.common.contracts.search import SEARCH, SearchQuery, SearchRequest, SearchResult
from libs.common.contracts.vehicles import VehicleAttributes, normalize_vehicle
from services.records import repository
from services.records.service import ReadRow

pytestmark = pytest.mark.asyncio(loop_scope="session")

SAFE = "ACEFHJKMNPRTUVWXY34679"


def token(n: int) -> str:
    return "".join(random.choice(SAFE) for _ in range(n))


def seen(**said: tuple[str, float]) -> VehicleAttributes:
    """A vehicle as a vendor described it: attribute → (its name for it, confidence 0-1)."""
    return normalize_vehicle(said)  # type: ignore[arg-type]


WHITE_BMW_X3 = seen(make=("bmw", 0.91), model=("bmw_x3", 0.62), color=("white", 0.88),
                    body_type=("suv-crossover", 0.8), year=("2016-2018", 0.4))  # fmt: skip
WHITE_KENWORTH = seen(make=("kenworth", 0.86), color=("white", 0.9), body_type=("truck-tractor", 0.77))
BLACK_BMW_X5 = seen(make=("BMW", 0.9), model=("x5", 0.5), color=("black", 0.93), body_type=("suv", 0.7),
                    year=("2009", 0.3))  # fmt: skip


async def store(system: Any, vehicles: list[tuple[str, VehicleAttributes | None]], now: datetime) -> dict[str, str]:
    """Reads stored as ingest stores them (ReadRow through the repository) on a camera of their own."""
    rt = system.runtime("records")
    await rt.ingest.ensure_partitions({repository.utc_day(now)})
    camera = f"cam-veh-{uuid.uuid4().hex[:8]}"
    rows = [
        ReadRow(
            read=ReadIn(
                read_id=str(uuid.uuid4()),
                agency="CA0430000",
                camera_id=camera,
                captured_at=now - timedelta(minutes=i + 1),
                plate=plate,
                plate_raw=plate,
                state="CA",
                latitude=37.3382,
                longitude=-121.8863,
                vehicle_attributes=vehicle,
            )
        )
        for i, (plate, vehicle) in enumerate(vehicles)
    ]
    async with rt.uow() as session:
        await repository.insert_reads(session, rows)
    return {"camera": camera, **{row.read.plate or "": row.read.read_id for row in rows}}


async def search(system: Any, now: datetime, camera: str, **query: Any) -> SearchResult:
    body = {"since": now - timedelta(days=30), "until": now + timedelta(minutes=5), "cameras": [camera], **query}
    request = SearchRequest(search_id=str(uuid.uuid4()), query=SearchQuery.model_validate(body))
    return await system.runtime("gateway").bus.call(SEARCH, request)


@pytest.fixture
async def street(system: Any) -> dict[str, Any]:
    """A white BMW X3, the white Kenworth tractor beside it, a black BMW X5, and a car the vendor did not describe."""
    now = datetime.now(UTC)
    plates = {"bmw": f"{token(4)}1", "kenworth": f"{token(4)}2", "black": f"{token(4)}3", "bare": f"{token(4)}4"}
    stored = await store(
        system,
        [(plates["bmw"], WHITE_BMW_X3), (plates["kenworth"], WHITE_KENWORTH), (plates["black"], BLACK_BMW_X5),
         (plates["bare"], None)],
        now,
    )  # fmt: skip
    return {"now": now, "camera": stored["camera"], **{k: stored[p] for k, p in plates.items()}, "plates": plates}


def ids(result: SearchResult) -> list[str]:
    return [r.read_id for r in result.reads]


class TestVehicleMatching:
    async def test_make_colour_and_body_find_the_white_bmw_suv_not_the_kenworth(self, system: Any, street: Any) -> None:
        found = await search(
            system, street["now"], street["camera"], vehicle={"make": "BMW", "color": "white", "body_type": "suv"}
        )
        assert ids(found) == [street["bmw"]]
        shown = found.reads[0].vehicle_attributes
        assert shown is not None and (shown.make, shown.color, shown.body_type) == ("BMW", "white", "suv-crossover")
        assert shown.confidence["make"] == pytest.approx(0.91) and shown.raw["model"] == "bmw_x3"

    async def test_each_attribute_narrows(self, system: Any, street: Any) -> None:
        now, camera = street["now"], street["camera"]
        assert ids(await search(system, now, camera, vehicle={"color": "White"})) == [street["bmw"], street["kenworth"]]
        assert ids(await search(system, now, camera, vehicle={"make": "bmw"})) == [street["bmw"], street["black"]]
        assert ids(await search(system, now, camera, vehicle={"body_type": "tractor-trailer"})) == [street["kenworth"]]
        assert ids(await search(system, now, camera, vehicle={"make": "BMW", "model": "X5"})) == [street["black"]]
        assert ids(await search(system, now, camera, vehicle={"make": "Toyota"})) == []

    async def test_years_match_where_the_ranges_overlap(self, system: Any, street: Any) -> None:
        now, camera = street["now"], street["camera"]
        assert ids(await search(system, now, camera, vehicle={"make": "BMW", "year_from": 2017})) == [street["bmw"]]
        assert ids(await search(system, now, camera, vehicle={"make": "BMW", "year_to": 2010})) == [street["black"]]
        both = await search(system, now, camera, vehicle={"make": "BMW", "year_from": 2005, "year_to": 2016})
        assert ids(both) == [street["bmw"], street["black"]]

    async def test_with_a_partial_plate(self, system: Any, street: Any) -> None:
        plate = street["plates"]["bmw"]
        found = await search(
            system, street["now"], street["camera"], plate=f"{plate[:4]}*", match="partial", vehicle={"color": "white"}
        )
        assert ids(found) == [street["bmw"]]
        other = await search(
            system, street["now"], street["camera"], plate=f"{plate[:4]}*", match="partial", vehicle={"color": "black"}
        )
        assert ids(other) == []

    async def test_with_an_area(self, system: Any, street: Any) -> None:
        here = {"lat": 37.3382, "lon": -121.8863, "radius_m": 300}
        away = {"lat": 37.8044, "lon": -122.2712, "radius_m": 300}
        now, camera, white = street["now"], street["camera"], {"color": "white"}
        assert ids(await search(system, now, camera, area=here, vehicle=white)) == [street["bmw"], street["kenworth"]]
        assert ids(await search(system, now, camera, area=away, vehicle=white)) == []

    async def test_a_read_without_a_vehicle_shows_none(self, system: Any, street: Any) -> None:
        found = await search(system, street["now"], street["camera"], plate=street["plates"]["bare"])
        assert ids(found) == [street["bare"]] and found.reads[0].vehicle_attributes is None


class TestVehicleQuery:
    @pytest.mark.parametrize(
        ("vehicle", "field", "code"),
        [
            ({"make": "Trabbimobile"}, "make", "vehicle_make_unknown"),
            ({"color": "chartreuse-ish"}, "color", "vehicle_color_unknown"),
            ({"body_type": "hovercraft"}, "body_type", "vehicle_body_type_unknown"),
            ({"colour": "white"}, "colour", "extra_forbidden"),
            ({}, None, "vehicle_empty"),
            ({"model": "x3"}, None, "vehicle_model_without_make"),
            ({"make": "BMW", "year_from": 2019, "year_to": 2010}, None, "vehicle_years_reversed"),
            ({"color": "white\x00"}, "color", None),
        ],
    )
    async def test_a_value_the_vocabulary_does_not_know_is_refused_by_name(
        self, vehicle: dict[str, Any], field: str | None, code: str | None
    ) -> None:
        now = datetime.now(UTC)
        with pytest.raises(ValidationError) as refused:
            SearchQuery.model_validate({"since": now - timedelta(days=1), "until": now, "vehicle": vehicle})
        error = refused.value.errors()[0]
        assert error["loc"] == ("vehicle", field) if field else error["loc"] == ("vehicle",)
        if code:
            assert error["type"] == code

    async def test_names_are_normalized_as_ingest_normalizes_them(self) -> None:
        now = datetime.now(UTC)
        query = SearchQuery.model_validate(
            {"since": now - timedelta(days=1), "until": now,
             "vehicle": {"make": "mercedes_benz", "model": "Mercedes-Benz C300", "color": "grey", "body_type": "SUV"}}
        )  # fmt: skip
        assert query.vehicle is not None
        assert (query.vehicle.make, query.vehicle.model) == ("Mercedes-Benz", "c300")
        assert (query.vehicle.color, query.vehicle.body_type) == ("silver-gray", "suv-crossover")
