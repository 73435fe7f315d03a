"""Issue #22 at the door: look-alike letters, full-width digits, empty talk, unclear and lawful reasons on search."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.utils.registry_people import audit_rows, bearer, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")

GOOD = {
    "use": "violent_crime_witness_or_victim",
    "case_number": "SJ-2026-004311",
    "reason": "Locate abducted pregnant woman, kidnapping reported by her mother",
}


def query() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"plate": "7PURP22", "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()}


async def search(system, sub: str, **purpose: str):  # type: ignore[no-untyped-def]
    body = {"query": query(), "purpose": {**GOOD, **purpose}}
    return await system.gateway.post("/v1/searches", json=body, headers=bearer(system, sub))


async def flags_of(system, sub: str, *, wait: bool = False) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The person's flagged attempts; with `wait`, until the audit writer has persisted one (at most 5 s)."""
    for _ in range(100):
        listing = await system.gateway.get("/v1/admin/flags", headers=system.token("auditor"))
        assert listing.status_code == 200, listing.text
        mine = [f for f in listing.json()["flags"] if f["actor"]["sub"] == sub]
        if mine or not wait:
            return mine
        await asyncio.sleep(0.05)
    return []


class TestRefusedAndFlagged:
    async def test_immigration_written_with_a_cyrillic_i_is_refused_and_flagged(self, system) -> None:
        sub = await put_person(system, new_sub("p22"), ["officer"])
        response = await search(system, sub, reason="Іmmigration wants the registered owner's address")
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "prohibited_purpose"
        flagged = await flags_of(system, sub, wait=True)
        assert len(flagged) == 1 and flagged[0]["refusal"] == "prohibited_purpose"

    async def test_a_prohibited_use_phrased_without_any_old_keyword_is_flagged(self, system) -> None:
        sub = await put_person(system, new_sub("p22"), ["officer"])
        response = await search(system, sub, reason="List the vehicles at the mosque during Friday prayers")
        assert response.status_code == 403 and response.json()["error"]["code"] == "prohibited_purpose"
        rows = await audit_rows(system, "event_type = 'access_denied' AND actor_sub = $1", sub)
        assert rows[0]["payload"]["details"]["flag_admins_and_auditors"] is True
        assert len(await flags_of(system, sub, wait=True)) == 1


class TestRefusedWithoutFlag:
    async def test_a_full_width_case_number_is_refused(self, system) -> None:
        sub = await put_person(system, new_sub("p22"), ["officer"])
        response = await search(system, sub, case_number="SJ-２０２６-００４２")
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_case_number"

    async def test_a_keyboard_run_is_vague(self, system) -> None:
        sub = await put_person(system, new_sub("p22"), ["officer"])
        response = await search(system, sub, reason="asdf qwer zxcv uiop hjkl")
        assert response.status_code == 422 and response.json()["error"]["code"] == "reason_vague"
        assert await flags_of(system, sub) == []

    async def test_a_reason_without_a_lawful_purpose_is_sent_back_to_be_rephrased(self, system) -> None:
        sub = await put_person(system, new_sub("p22"), ["officer"])
        response = await search(system, sub, reason="Cars parked by the synagogue on Saturday morning")
        assert response.status_code == 422 and response.json()["error"]["code"] == "purpose_unclear"
        rows = await audit_rows(system, "event_type = 'access_denied' AND actor_sub = $1", sub)
        assert rows[0]["payload"]["details"]["refusal"] == "purpose_unclear"
        assert rows[0]["payload"]["details"]["flag_admins_and_auditors"] is False
        assert await flags_of(system, sub) == []


class TestAllowed:
    @pytest.mark.parametrize(
        "reason",
        [
            GOOD["reason"],
            "Hit and run injured a cyclist near the protest on Santa Clara St",
            "Robbery at the ICE Cream shop on Story Rd, suspect fled in a Civic",
        ],
    )
    async def test_a_lawful_reason_with_a_sensitive_word_is_searched(self, system, reason: str) -> None:
        sub = await put_person(system, new_sub("p22"), ["officer"])
        response = await search(system, sub, reason=reason)
        assert response.status_code == 200, response.text
        assert await flags_of(system, sub) == []
