"""A2/A3: every purpose rejection path, and prohibited purposes refused, recorded and flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.utils.registry_people import audit_rows, bearer, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")

GOOD = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on Story Road",
}


def query() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"plate": "7PURP01", "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()}


async def search(system, purpose: dict[str, Any], sub: str = "dev-officer"):  # type: ignore[no-untyped-def]
    return await system.gateway.post(
        "/v1/searches", json={"query": query(), "purpose": purpose}, headers=bearer(system, sub)
    )


@pytest.mark.parametrize("missing", ["use", "case_number", "reason"])
async def test_a_missing_purpose_field_is_refused(system, missing: str) -> None:
    response = await search(system, {k: v for k, v in GOOD.items() if k != missing})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert f"body.purpose.{missing}" in response.json()["error"]["fields"]


async def test_a_use_outside_the_seven_is_refused(system) -> None:
    response = await search(system, {**GOOD, "use": "immigration_enforcement"})
    assert response.status_code == 422 and "body.purpose.use" in response.json()["error"]["fields"]


@pytest.mark.parametrize("case_number", ["12345", "sj-2026-004211", "SJ-26-004211", "SJ-2026-12", "SJ 2026 004211"])
async def test_a_case_number_not_in_the_departments_format_is_refused(system, case_number: str) -> None:
    response = await search(system, {**GOOD, "case_number": case_number})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_case_number"


async def test_a_reason_under_twenty_characters_is_refused(system) -> None:
    response = await search(system, {**GOOD, "reason": "Stolen car, Story"})
    assert response.status_code == 422 and response.json()["error"]["code"] == "reason_too_short"


@pytest.mark.parametrize(
    "reason",
    ["investigation investigation investigation", "Just checking, for the investigation", "test test test testing 123"],
)
async def test_a_vague_reason_is_refused(system, reason: str) -> None:
    response = await search(system, {**GOOD, "reason": reason})
    assert response.status_code == 422 and response.json()["error"]["code"] == "reason_vague"


async def test_every_refusal_is_recorded_as_a_denied_access(system) -> None:
    sub = await put_person(system, new_sub("vague"), ["officer"])
    response = await search(system, {**GOOD, "reason": "investigation"}, sub)
    assert response.status_code == 422
    rows = await audit_rows(system, "event_type = 'access_denied' AND actor_sub = $1", sub)
    assert rows[0]["payload"]["details"]["refusal"] == "reason_too_short"
    assert rows[0]["payload"]["details"]["flag_admins_and_auditors"] is False


@pytest.mark.parametrize(
    "reason",
    [
        "Locate undocumented driver for ICE detainer request",
        "Check who attended the protest at City Hall last Saturday",
        "Vehicle seen at reproductive health clinic on Alum Rock",
    ],
)
async def test_a_prohibited_purpose_is_refused_recorded_and_flagged_to_admins_and_auditors(system, reason: str) -> None:
    sub = await put_person(system, new_sub("prohib"), ["officer"])
    response = await search(system, {**GOOD, "reason": reason}, sub)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "prohibited_purpose"
    assert "reads" not in response.json()

    rows = await audit_rows(system, "event_type = 'access_denied' AND actor_sub = $1", sub)
    assert len(rows) == 1
    payload = rows[0]["payload"]
    assert payload["outcome"] == "denied" and payload["purpose"]["reason"] == reason
    assert payload["details"] == {"refusal": "prohibited_purpose", "flag_admins_and_auditors": True, "route": "search"}

    for role in ("admin", "auditor"):
        listing = await system.gateway.get("/v1/admin/flags", headers=system.token(role))
        assert listing.status_code == 200, listing.text
        mine = [f for f in listing.json()["flags"] if f["actor"]["sub"] == sub]
        assert len(mine) == 1 and mine[0]["refusal"] == "prohibited_purpose" and mine[0]["route"] == "search"
    assert (await system.gateway.get("/v1/admin/flags", headers=system.token("officer"))).status_code == 403


async def test_a_prohibited_purpose_in_an_approval_request_is_flagged_too(system) -> None:
    sub = await put_person(system, new_sub("prohib"), ["officer"])
    body = {
        "query": {**query(), "plate": "7PU*", "match": "partial"},
        "purpose": {**GOOD, "reason": "Find deportation targets by their cars near the border patrol office"},
        "justification": "We need all the partial matches to find the people",
    }
    response = await system.gateway.post("/v1/approvals", json=body, headers=bearer(system, sub))
    assert response.status_code == 403 and response.json()["error"]["code"] == "prohibited_purpose"
    rows = await audit_rows(system, "event_type = 'access_denied' AND actor_sub = $1", sub)
    assert rows[0]["payload"]["details"]["route"] == "approval_request"
    assert rows[0]["payload"]["details"]["flag_admins_and_auditors"] is True


async def test_a_good_purpose_is_accepted(system) -> None:
    response = await search(system, GOOD)
    assert response.status_code == 200, response.text


async def test_a_prohibited_purpose_on_a_read_view_is_flagged_too(system) -> None:
    sub = await put_person(system, new_sub("prohib"), ["officer"])
    params = {**GOOD, "reason": "Confirm the immigration status of the registered owner"}
    response = await system.gateway.get(
        "/v1/reads/00000000-0000-0000-0000-000000000001", params=params, headers=bearer(system, sub)
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "prohibited_purpose"
    rows = await audit_rows(system, "event_type = 'access_denied' AND actor_sub = $1", sub)
    assert rows[0]["payload"]["details"] == {
        "refusal": "prohibited_purpose",
        "flag_admins_and_auditors": True,
        "route": "read_view",
    }


async def test_a_window_without_a_time_zone_is_refused_not_a_server_error(system) -> None:
    body = {
        "query": {"plate": "7PURP01", "since": "2026-11-27T00:00:00", "until": "2026-11-28T00:00:00"},
        "purpose": GOOD,
    }
    response = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "timezone_required"
