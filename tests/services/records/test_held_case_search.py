"""B2: a held read is found and viewed under its hold's case beyond every look-back, and only under that case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.search import SEARCH, SearchQuery, SearchRequest
from libs.common.errors import Forbidden
from services.records.service import held_only_before
from tests.services.records.test_retention import REASON, approved_hold, case_number, plate, purge, where
from tests.utils.registry_people import audit_rows


def purpose(case: str) -> dict[str, str]:
    return {"use": "wanted_suspect", "case_number": case, "reason": REASON}


async def gateway_search(system: Any, plate_: str, since: datetime, until: datetime, case: str) -> Any:
    query = {"plate": plate_, "since": since.isoformat(), "until": until.isoformat()}
    return await system.gateway.post(
        "/v1/searches", json={"query": query, "purpose": purpose(case)}, headers=system.token("officer")
    )


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["read_id"] for r in response.json()["reads"]]


@pytest.fixture
async def held_world(system: Any, store_reads: Any) -> dict[str, Any]:
    """One plate 400 days back: a read held for case A, one held for case B, one unheld; and a read of today."""
    now = datetime.now(UTC)
    old = now - timedelta(days=400)
    the_plate, case_a, case_b = plate(), case_number(), case_number()
    held_a, held_b, unheld, recent = await store_reads(
        [
            {"plate": the_plate, "captured_at": old},
            {"plate": the_plate, "captured_at": old + timedelta(minutes=1)},
            {"plate": the_plate, "captured_at": old + timedelta(minutes=2)},
            {"plate": the_plate, "captured_at": now - timedelta(hours=1)},
        ]
    )
    await approved_hold(system, case_a, read_ids=[held_a.read_id])
    await approved_hold(system, case_b, read_ids=[held_b.read_id])
    return {
        "now": now, "old": old, "plate": the_plate, "case_a": case_a, "case_b": case_b,
        "held_a": held_a, "held_b": held_b, "unheld": unheld, "recent": recent,
    }  # fmt: skip


class TestSearchBeyondTheLookback:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_only_the_cases_held_reads_are_found_beyond_the_lookback(
        self, system: Any, held_world: dict[str, Any]
    ) -> None:
        w = held_world
        since, until = w["old"] - timedelta(days=5), w["old"] + timedelta(days=5)  # not broad: 10 days
        assert ids(await gateway_search(system, w["plate"], since, until, w["case_a"])) == [w["held_a"].read_id]
        assert ids(await gateway_search(system, w["plate"], since, until, w["case_b"])) == [w["held_b"].read_id]

        refused = await gateway_search(system, w["plate"], since, until, case_number())
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "lookback_exceeded"

    async def test_a_broad_search_may_not_reach_past_the_lookback_even_for_a_held_case(
        self, system: Any, held_world: dict[str, Any]
    ) -> None:
        w = held_world  # no approval is granted past the look-back, so none is asked for
        since, until = w["old"] - timedelta(days=20), w["old"] + timedelta(days=20)
        refused = await gateway_search(system, w["plate"], since, until, w["case_a"])
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "lookback_exceeded"

    async def test_the_refusal_is_recorded(self, system: Any, held_world: dict[str, Any]) -> None:
        w, case = held_world, case_number()
        refused = await gateway_search(system, w["plate"], w["old"], w["old"] + timedelta(days=1), case)
        assert refused.status_code == 403
        rows = await audit_rows(system, "case_number = $1 AND event_type = 'access_denied'", case)
        assert [r["payload"]["details"]["refusal"] for r in rows] == ["lookback_exceeded"]

    async def test_a_window_across_the_lookback_finds_everything_inside_it_and_only_held_reads_before(
        self, system: Any, held_world: dict[str, Any]
    ) -> None:
        w = held_world
        query = SearchQuery(plate=w["plate"], since=w["old"] - timedelta(days=1), until=w["now"])
        asked = SearchRequest(
            search_id=str(uuid.uuid4()),
            query=query,
            case_number=w["case_a"],
            lookback_from=w["now"] - timedelta(days=365),
        )
        found = await system.runtime("gateway").bus.call(SEARCH, asked)
        assert [r.read_id for r in found.reads] == [w["recent"].read_id, w["held_a"].read_id]

    async def test_the_search_record_says_it_reached_past_the_lookback(
        self, system: Any, held_world: dict[str, Any]
    ) -> None:
        w = held_world
        since, until = w["old"] - timedelta(days=1), w["old"] + timedelta(days=1)
        found = await gateway_search(system, w["plate"], since, until, w["case_a"])
        assert ids(found) == [w["held_a"].read_id]
        (record,) = await audit_rows(system, "event_id = $1", found.json()["search_id"])
        assert record["payload"]["result_ids"] == [w["held_a"].read_id]
        assert "held_reach_before" in record["payload"]["details"]


class TestHeldCopiesAnswerTheirCaseOnly:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_after_the_purge_search_detail_and_image_answer_only_the_holds_case(
        self, system: Any, held_world: dict[str, Any], admin_db: Any
    ) -> None:
        w = held_world
        await purge(system)
        held_a, held_b = w["held_a"], w["held_b"]
        assert (await where(admin_db, held_a.read_id))["held_reads"] == 1
        assert sum((await where(admin_db, w["unheld"].read_id)).values()) == 0

        since, until = w["old"] - timedelta(days=5), w["old"] + timedelta(days=5)
        assert ids(await gateway_search(system, w["plate"], since, until, w["case_a"])) == [held_a.read_id]
        assert ids(await gateway_search(system, w["plate"], since, until, w["case_b"])) == [held_b.read_id]

        officer = system.token("officer")
        detail = await system.gateway.get(f"/v1/reads/{held_a.read_id}", params=purpose(w["case_a"]), headers=officer)
        assert detail.status_code == 200 and detail.json()["plate"] == w["plate"], detail.text
        image = await system.gateway.get(
            f"/v1/reads/{held_a.read_id}/image", params=purpose(w["case_a"]), headers=officer
        )
        assert image.status_code == 200 and image.content == held_a.image

        # another case (even one holding other reads) learns nothing: the same answer as a purged read
        for case in (w["case_b"], case_number()):
            detail = await system.gateway.get(f"/v1/reads/{held_a.read_id}", params=purpose(case), headers=officer)
            assert detail.status_code == 404 and detail.json()["error"]["code"] == "read_not_found", detail.text
            image = await system.gateway.get(f"/v1/reads/{held_a.read_id}/image", params=purpose(case), headers=officer)
            assert image.status_code == 404 and image.json()["error"]["code"] == "image_not_found", image.text
        purged = await system.gateway.get(
            f"/v1/reads/{w['unheld'].read_id}", params=purpose(w["case_a"]), headers=officer
        )
        assert purged.status_code == 404 and purged.json()["error"]["code"] == "read_not_found"

    async def test_the_detail_followed_from_the_cases_search_is_shown(
        self, system: Any, held_world: dict[str, Any]
    ) -> None:
        w = held_world
        await purge(system)
        found = await gateway_search(
            system, w["plate"], w["old"] - timedelta(days=1), w["old"] + timedelta(days=1), w["case_b"]
        )
        assert ids(found) == [w["held_b"].read_id]
        detail = await system.gateway.get(
            f"/v1/reads/{w['held_b'].read_id}", params={"search_id": found.json()["search_id"]},
            headers=system.token("officer"),
        )  # fmt: skip
        assert detail.status_code == 200 and detail.json()["read_id"] == w["held_b"].read_id


class TestHeldReachRule:
    def test_a_window_inside_the_lookback_is_not_a_reach(self) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        assert held_only_before(start, start, case_holds=False) is None
        assert held_only_before(start, None, case_holds=False) is None

    def test_a_reach_needs_an_active_hold_of_the_case(self) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        with pytest.raises(Forbidden) as refused:
            held_only_before(start - timedelta(days=1), start, case_holds=False)
        assert refused.value.code == "lookback_exceeded"
        assert held_only_before(start - timedelta(days=1), start, case_holds=True) == start
