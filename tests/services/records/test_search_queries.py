"""Each kind of search against known reads: exact, partial, look-alike, area, cameras, state, pages, cap."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.contracts.search import SEARCH, Area, SearchQuery, SearchRequest, SearchResult
from libs.common.errors import InvalidInput
from services.records.lookalike import DEFAULT_LOOKALIKES
from services.records.lookups import ReadLookups
from services.records.settings import RecordsSettings
from tests.utils.corrections import image_view

pytestmark = pytest.mark.asyncio(loop_scope="session")

SAFE = "ACEFHJKMNPRTUVWXY34679"  # no look-alike characters, so only the planted ones collide
DOWNTOWN = (37.3382, -121.8863)
OAKLAND = (37.8044, -122.2712)
PURPOSE = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on Story Road",
}


def token(n: int = 4) -> str:
    return "".join(random.choice(SAFE) for _ in range(n))


@pytest.fixture
async def known(store_reads: Any) -> dict[str, Any]:
    """A small world: a plate, its misread, reads in two cities on two cameras, one from Nevada."""
    now = datetime.now(UTC)
    stem, cam_a, cam_b = token(), f"cam-a-{uuid.uuid4().hex[:6]}", f"cam-b-{uuid.uuid4().hex[:6]}"
    target, misread, other = f"{stem}80", f"{stem}B0", f"{token()}7{token(2)}"
    reads = await store_reads(
        [
            {"plate": target, "captured_at": now - timedelta(hours=1), "camera_id": cam_a},
            {"plate": misread, "captured_at": now - timedelta(hours=2), "camera_id": cam_a},
            {"plate": other, "captured_at": now - timedelta(hours=3), "camera_id": cam_b, "state": "NV",
             "latitude": OAKLAND[0], "longitude": OAKLAND[1]},
        ]
    )  # fmt: skip
    return {"now": now, "stem": stem, "target": target, "misread": misread, "other": other,
            "cam_a": cam_a, "cam_b": cam_b, "ids": {r.plate: r.read_id for r in reads}}  # fmt: skip


async def search(system: Any, known: dict[str, Any], **query: Any) -> SearchResult:
    now = known["now"]
    body = {"since": now - timedelta(days=1), "until": now + timedelta(minutes=5), **query}
    request = SearchRequest(search_id=str(uuid.uuid4()), query=SearchQuery.model_validate(body))
    return await system.runtime("gateway").bus.call(SEARCH, request)


def plates(result: SearchResult) -> list[str | None]:
    return [r.plate for r in result.reads]


class TestPlateMatching:
    async def test_exact_finds_the_plate_and_not_its_misread(self, system: Any, known: dict[str, Any]) -> None:
        assert plates(await search(system, known, plate=known["target"])) == [known["target"]]

    async def test_lookalike_finds_the_misread_exact_does_not(self, system: Any, known: dict[str, Any]) -> None:
        found = await search(system, known, plate=known["target"], match="lookalike")
        assert plates(found) == [known["target"], known["misread"]]
        assert plates(await search(system, known, plate=known["misread"])) == [known["misread"]]

    async def test_partial_with_wildcards(self, system: Any, known: dict[str, Any]) -> None:
        stem = known["stem"]
        both = await search(system, known, plate=f"{stem}*", match="partial")
        assert plates(both) == [known["target"], known["misread"]]
        one = await search(system, known, plate=f"{stem[:3]}?8?", match="partial")
        assert plates(one) == [known["target"]]

    async def test_partial_needs_three_known_characters(self, system: Any, known: dict[str, Any]) -> None:
        with pytest.raises(InvalidInput) as refused:
            await search(system, known, plate=f"{known['stem'][:2]}*?", match="partial")
        assert refused.value.code == "partial_too_short"


class TestEmptyPlate:
    @pytest.mark.parametrize("match", ["exact", "lookalike", "partial"])
    @pytest.mark.parametrize("plate", ["", "--", " - ", "\u00a0"])
    async def test_the_contract_refuses_a_plate_with_no_character(self, plate: str, match: str) -> None:
        # an empty plate once meant "no plate filter": every read in the window
        now = datetime.now(UTC)
        with pytest.raises(ValidationError) as refused:
            SearchQuery(plate=plate, match=match, since=now - timedelta(days=1), until=now)
        assert [e["type"] for e in refused.value.errors()] == ["plate_too_short"]

    @pytest.mark.parametrize(
        ("match", "plate", "code"),
        [
            ("exact", "", "plate_too_short"),
            ("exact", "--", "plate_too_short"),
            ("lookalike", " - ", "plate_too_short"),
            ("partial", "", "partial_too_short"),
        ],
    )
    async def test_records_refuses_one_that_skipped_the_contract(
        self, system: Any, known: dict[str, Any], match: str, plate: str, code: str
    ) -> None:
        # in depth: a caller that built the query past the contract's check still gets no "every read"
        now = known["now"]
        checked = SearchQuery(since=now - timedelta(days=1), until=now, cameras=[known["cam_a"]])
        query = SearchQuery.model_construct(**{**dict(checked), "plate": plate, "match": match})
        rt = system.runtime("records")
        lookups = ReadLookups(rt.settings, rt.uow, rt.ingest.classes)
        with pytest.raises(InvalidInput) as refused:
            await lookups.search(SearchRequest.model_construct(search_id=str(uuid.uuid4()), query=query))
        assert refused.value.code == code

    async def test_no_plate_at_all_still_searches_by_the_other_filters(
        self, system: Any, known: dict[str, Any]
    ) -> None:
        # A4: the gateway sends a search without a plate only with a supervisor's approval
        found = await search(system, known, cameras=[known["cam_a"]])
        assert plates(found) == [known["target"], known["misread"]]


class TestFilters:
    async def test_cameras(self, system: Any, known: dict[str, Any]) -> None:
        assert plates(await search(system, known, cameras=[known["cam_b"]])) == [known["other"]]
        assert len((await search(system, known, cameras=[known["cam_a"], known["cam_b"]])).reads) == 3

    async def test_state(self, system: Any, known: dict[str, Any]) -> None:
        found = await search(system, known, cameras=[known["cam_a"], known["cam_b"]], state="nv")
        assert plates(found) == [known["other"]]

    async def test_area_box_and_radius(self, system: Any, known: dict[str, Any]) -> None:
        cams = [known["cam_a"], known["cam_b"]]
        box = Area(min_lat=37.7, max_lat=37.9, min_lon=-122.4, max_lon=-122.1)
        assert plates(await search(system, known, cameras=cams, area=box)) == [known["other"]]
        near = Area(lat=DOWNTOWN[0] + 0.005, lon=DOWNTOWN[1], radius_m=1000)  # about 560 m away
        assert plates(await search(system, known, cameras=cams, area=near)) == [known["target"], known["misread"]]
        too_far = Area(lat=DOWNTOWN[0] + 0.02, lon=DOWNTOWN[1], radius_m=1000)  # about 2.2 km away
        assert plates(await search(system, known, cameras=cams, area=too_far)) == []

    async def test_time_window(self, system: Any, known: dict[str, Any]) -> None:
        now = known["now"]
        found = await search(
            system, known, plate=known["stem"] + "*", match="partial", since=now - timedelta(minutes=90)
        )
        assert plates(found) == [known["target"]]


class TestPagesAndCap:
    async def test_keyset_pages_cover_every_read_once_newest_first(self, system: Any, store_reads: Any) -> None:
        now, plate = datetime.now(UTC), token(7)
        stored = await store_reads([{"plate": plate, "captured_at": now - timedelta(minutes=i)} for i in range(5)])
        seen, cursor, pages = [], None, 0
        while True:
            result = await search(system, {"now": now}, plate=plate, limit=2, cursor=cursor)
            seen += [r.read_id for r in result.reads]
            pages += 1
            cursor = result.next_cursor
            assert result.truncated == (cursor is not None)
            if cursor is None:
                break
        assert pages == 3 and seen == [r.read_id for r in stored]

    async def test_the_result_cap_bounds_a_page(self, system: Any, store_reads: Any) -> None:
        now, plate = datetime.now(UTC), token(7)
        await store_reads([{"plate": plate, "captured_at": now - timedelta(minutes=i)} for i in range(4)])
        rt = system.runtime("records")
        capped = RecordsSettings(**{**rt.settings.model_dump(), "search_result_cap": 3})
        lookups = ReadLookups(capped, rt.uow, DEFAULT_LOOKALIKES)
        query = SearchQuery(plate=plate, since=now - timedelta(hours=1), until=now + timedelta(minutes=1), limit=1000)
        result = await lookups.search(SearchRequest(search_id="cap", query=query))
        assert len(result.reads) == 3 and result.truncated and result.next_cursor


class TestCorrections:
    async def test_a_corrected_misread_is_found_as_its_new_version(self, system: Any, known: dict[str, Any]) -> None:
        misread_id = known["ids"][known["misread"]]
        fix = {
            "plate": known["target"],
            "reason": "The image shows an 8 where the reader gave a B",
            "image_view_id": await image_view(system, misread_id),
        }
        corrected = await system.gateway.post(
            f"/v1/reads/{misread_id}/corrections",
            json=fix,
            headers=system.token("officer"),
        )
        assert corrected.status_code == 201, corrected.text
        version = corrected.json()
        assert version["supersedes"] == misread_id and version["version"] == 2
        found = await search(system, known, plate=known["target"])
        assert [r.read_id for r in found.reads] == [known["ids"][known["target"]], version["read_id"]]
        # the result list says which sighting an officer corrected and from what (found in review: it did not)
        assert [(r.version, r.supersedes) for r in found.reads] == [(1, None), (2, misread_id)]
        assert plates(await search(system, known, plate=known["misread"])) == []
        again = await system.gateway.post(
            f"/v1/reads/{misread_id}/corrections",
            json=fix,
            headers=system.token("officer"),
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "read_superseded"


class TestThroughTheGateway:
    async def test_exact_search_then_detail_and_image_named_by_the_search(
        self, system: Any, known: dict[str, Any]
    ) -> None:
        now = known["now"]
        window = {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(minutes=5)).isoformat()}
        response = await system.gateway.post(
            "/v1/searches",
            json={"query": {"plate": known["target"], **window}, "purpose": PURPOSE},
            headers=system.token("officer"),
        )
        assert response.status_code == 200, response.text
        body = response.json()
        read_id = known["ids"][known["target"]]
        assert [r["read_id"] for r in body["reads"]] == [read_id]
        detail = await system.gateway.get(
            f"/v1/reads/{read_id}", params={"search_id": body["search_id"]}, headers=system.token("officer")
        )
        assert detail.status_code == 200 and detail.json()["plate"] == known["target"]
        image = await system.gateway.get(
            f"/v1/reads/{read_id}/image", params={"search_id": body["search_id"]}, headers=system.token("officer")
        )
        assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")
        misread_id = known["ids"][known["misread"]]
        not_found_by_it = await system.gateway.get(
            f"/v1/reads/{misread_id}", params={"search_id": body["search_id"]}, headers=system.token("officer")
        )
        assert not_found_by_it.status_code == 403

    async def test_partial_search_needs_an_approval_and_long_lookback_is_refused(
        self, system: Any, known: dict[str, Any]
    ) -> None:
        now = known["now"]
        partial = {"plate": known["stem"] + "*", "match": "partial", "since": (now - timedelta(days=1)).isoformat(),
                   "until": now.isoformat()}  # fmt: skip
        refused = await system.gateway.post(
            "/v1/searches", json={"query": partial, "purpose": PURPOSE}, headers=system.token("officer")
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "approval_required"
        too_far = {"plate": known["target"], "since": (now - timedelta(days=400)).isoformat(), "until": now.isoformat()}
        refused = await system.gateway.post(
            "/v1/searches", json={"query": too_far, "purpose": PURPOSE}, headers=system.token("officer")
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "lookback_exceeded"
