"""B5 with B2: a read that matched no hotlist and is past the shorter cap is kept only because a hold keeps it,
so only a search under that hold's case finds it (not another officer's search, nor a partner's, which names
no case), and only that case is shown it or its image by id; a read that hit a list is found as before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.search import ReadLookup, SearchQuery, SearchRequest
from libs.common.errors import NotFound
from services.records.lookups import ReadLookups
from services.records.settings import RecordsSettings
from tests.services.records.test_retention import approved_hold, case_number, plate

pytestmark = pytest.mark.asyncio(loop_scope="session")


def lookups(system: Any, *, unmatched_days: int | None) -> ReadLookups:
    """Records' search as a replica with the B5 cap at `unmatched_days` runs it."""
    rt = system.runtime("records")
    env = {k.removeprefix("ALPR_").lower(): v for k, v in system.stack.env_for("records", http_port=0).items()}
    settings = RecordsSettings(**{**env, "environment": "test", "unmatched_retention_days": unmatched_days})
    return ReadLookups(settings, rt.uow, rt.ingest.classes)


async def found(desk: ReadLookups, plate_: str, since: datetime, case: str | None) -> set[str]:
    query = SearchQuery(plate=plate_, match="exact", since=since, until=datetime.now(UTC), limit=50)
    result = await desk.search(SearchRequest(search_id=str(uuid.uuid4()), query=query, case_number=case))
    return {r.read_id for r in result.reads}


@pytest.fixture
async def capped_world(system: Any, store_reads: Any) -> dict[str, Any]:
    """One plate 100 days back: a read held for a case, one unheld, one that hit a list; and one of today."""
    old = datetime.now(UTC) - timedelta(days=100)
    the_plate, case = plate(), case_number()
    held, unheld, hit, recent = await store_reads(
        [
            {"plate": the_plate, "captured_at": old},
            {"plate": the_plate, "captured_at": old + timedelta(minutes=1)},
            {"plate": the_plate, "captured_at": old + timedelta(minutes=2), "hotlist_hit": True},
            {"plate": the_plate, "captured_at": datetime.now(UTC) - timedelta(hours=1)},
        ]
    )
    await approved_hold(system, case, read_ids=[held.read_id])
    return {"old": old, "plate": the_plate, "case": case, "held": held, "unheld": unheld, "hit": hit, "recent": recent}


class TestUnmatchedPastTheCap:
    async def test_only_the_holds_case_finds_a_held_unmatched_read_past_the_cap(
        self, system: Any, capped_world: dict[str, Any]
    ) -> None:
        w = capped_world
        desk, since = lookups(system, unmatched_days=60), w["old"] - timedelta(days=1)
        everyone = {w["hit"].read_id, w["recent"].read_id}
        assert await found(desk, w["plate"], since, None) == everyone  # a partner's search names no case
        assert await found(desk, w["plate"], since, case_number()) == everyone  # another case
        assert await found(desk, w["plate"], since, w["case"]) == everyone | {w["held"].read_id}

    async def test_without_the_cap_every_read_is_found_as_before(
        self, system: Any, capped_world: dict[str, Any]
    ) -> None:
        w = capped_world
        desk, since = lookups(system, unmatched_days=None), w["old"] - timedelta(days=1)
        assert await found(desk, w["plate"], since, None) == {
            w["held"].read_id, w["unheld"].read_id, w["hit"].read_id, w["recent"].read_id
        }  # fmt: skip

    async def test_inside_the_cap_unmatched_reads_are_found_by_everyone(
        self, system: Any, capped_world: dict[str, Any]
    ) -> None:
        w = capped_world
        desk, since = lookups(system, unmatched_days=120), w["old"] - timedelta(days=1)
        assert await found(desk, w["plate"], since, None) == {
            w["held"].read_id, w["unheld"].read_id, w["hit"].read_id, w["recent"].read_id
        }  # fmt: skip


async def shown(desk: ReadLookups, read_id: str, case: str | None) -> tuple[bool, bool]:
    """Whether the read's detail and its image are served to a viewer under `case`."""
    served = []
    for ask in (desk.read_detail, desk.read_image):
        try:
            await ask(ReadLookup(read_id=read_id, case_number=case))
            served.append(True)
        except NotFound:
            served.append(False)
    return served[0], served[1]


class TestUnmatchedPastTheCapById:
    async def test_only_the_holds_case_is_shown_a_held_unmatched_read_or_its_image(
        self, system: Any, capped_world: dict[str, Any]
    ) -> None:
        w = capped_world
        desk = lookups(system, unmatched_days=60)
        assert await shown(desk, w["held"].read_id, w["case"]) == (True, True)
        assert await shown(desk, w["held"].read_id, case_number()) == (False, False)
        assert await shown(desk, w["held"].read_id, None) == (False, False)
        assert await shown(desk, w["unheld"].read_id, w["case"]) == (False, False)  # past the cap, not yet purged
        assert await shown(desk, w["hit"].read_id, None) == (True, True)

    async def test_without_the_cap_a_read_is_shown_as_before(self, system: Any, capped_world: dict[str, Any]) -> None:
        w = capped_world
        desk = lookups(system, unmatched_days=None)
        assert await shown(desk, w["unheld"].read_id, None) == (True, True)
