"""A4: a broad search runs only under a grant by a supervisor other than the requester, for that query."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.services.gateway.test_first_path import PURPOSE, post_read, unique_plate, wait_stored
from tests.utils.registry_people import audit_rows, bearer, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")
JUSTIFICATION = "The robbery series spans two months; the suspect car returns to the same streets"


def long_window(plate: str) -> dict[str, Any]:
    """Exact plate over 40 days: broad only because of the window."""
    now = datetime.now(UTC).replace(microsecond=0)
    return {
        "plate": plate,
        "since": (now - timedelta(days=40)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
    }


async def request_approval(system, headers: dict[str, str], query: dict[str, Any] | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    body = {"query": query or long_window(unique_plate()), "purpose": PURPOSE, "justification": JUSTIFICATION}
    response = await system.gateway.post("/v1/approvals", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def decide(system, approval_id: str, headers: dict[str, str], decision: str = "approve"):  # type: ignore[no-untyped-def]
    return await system.gateway.post(
        f"/v1/approvals/{approval_id}/decision",
        json={"decision": decision, "reason": "case checked with the detective"},
        headers=headers,
    )


async def search(system, query: dict[str, Any], headers: dict[str, str], approval_id: str | None = None):  # type: ignore[no-untyped-def]
    body: dict[str, Any] = {"query": query, "purpose": PURPOSE}
    if approval_id:
        body["approval_id"] = approval_id
    return await system.gateway.post("/v1/searches", json=body, headers=headers)


async def test_the_whole_flow_for_a_long_window(system) -> None:
    plate = unique_plate()
    read_id = (await post_read(system, plate)).json()["read_ids"][0]
    await wait_stored(system, read_id)
    analyst = system.token("analyst")
    query = long_window(plate)

    refused = await search(system, query, analyst)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "approval_required"
    assert refused.json()["error"]["details"]["broad"] == ["long_window"]

    approval = await request_approval(system, analyst, query)
    assert approval["status"] == "requested" and approval["requester_sub"] == "dev-analyst"
    pending = await system.gateway.get("/v1/approvals?status=requested", headers=system.token("supervisor"))
    assert approval["approval_id"] in [a["approval_id"] for a in pending.json()]

    early = await search(system, query, analyst, approval["approval_id"])
    assert early.status_code == 403 and early.json()["error"]["code"] == "approval_invalid"

    granted = await decide(system, approval["approval_id"], system.token("supervisor"))
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    assert granted.json()["decided_by"] == "dev-supervisor"

    found = await search(system, query, analyst, approval["approval_id"])
    assert found.status_code == 200, found.text
    assert [r["read_id"] for r in found.json()["reads"]] == [read_id]
    # not consumed by the first page: the same query pages on under the same approval
    again = await search(system, {**query, "limit": 5}, analyst, approval["approval_id"])
    assert again.status_code == 200

    rows = await audit_rows(system, "event_id = $1", found.json()["search_id"])
    assert rows[0]["payload"]["details"]["approval_id"] == approval["approval_id"]
    decisions = await audit_rows(
        system,
        "event_type = 'admin_change' AND payload::jsonb -> 'details' ->> 'approval_id' = $1",
        approval["approval_id"],
        expect=2,
    )
    assert [d["payload"]["details"]["change"] for d in decisions] == ["approval_requested", "approval_granted"]
    assert decisions[1]["actor"]["sub"] == "dev-supervisor"

    twice = await decide(system, approval["approval_id"], system.token("supervisor"), "deny")
    assert twice.status_code == 409


async def test_the_approval_serves_only_its_requester_and_its_query(system) -> None:
    analyst = system.token("analyst")
    approval = await request_approval(system, analyst)
    await decide(system, approval["approval_id"], system.token("supervisor"))
    query = approval["query"]

    other = await search(system, query, system.token("officer"), approval["approval_id"])
    assert other.status_code == 403 and other.json()["error"]["code"] == "approval_invalid"
    changed = await search(system, {**query, "plate": unique_plate()}, analyst, approval["approval_id"])
    assert changed.status_code == 403 and changed.json()["error"]["code"] == "approval_mismatch"
    unknown = await search(system, query, analyst, str(uuid.uuid4()))
    assert unknown.status_code == 403 and unknown.json()["error"]["code"] == "approval_invalid"


@pytest.mark.parametrize(
    "change",
    [
        {"case_number": "SJ-2026-999999"},
        {"use": "wanted_suspect"},
        {"reason": "Suspect in an unrelated armed robbery on 12/01 near Tully Rd"},
        {
            "use": "wanted_suspect",
            "case_number": "SJ-2026-999999",
            "reason": "Suspect in an unrelated armed robbery on 12/01 near Tully Rd",
        },
    ],
)
async def test_the_approval_serves_only_the_purpose_it_was_granted_for(system, change: dict[str, str]) -> None:
    analyst = system.token("analyst")
    approval = await request_approval(system, analyst)
    await decide(system, approval["approval_id"], system.token("supervisor"))
    body = {"query": approval["query"], "purpose": {**PURPOSE, **change}, "approval_id": approval["approval_id"]}
    response = await system.gateway.post("/v1/searches", json=body, headers=analyst)
    assert response.status_code == 403 and response.json()["error"]["code"] == "approval_mismatch"
    # the purpose it was granted for still runs under it
    assert (await search(system, approval["query"], analyst, approval["approval_id"])).status_code == 200


async def test_a_refused_or_expired_approval_does_not_serve(system) -> None:
    analyst = system.token("analyst")
    refused = await request_approval(system, analyst)
    assert (await decide(system, refused["approval_id"], system.token("supervisor"), "deny")).json()[
        "status"
    ] == "refused"
    response = await search(system, refused["query"], analyst, refused["approval_id"])
    assert response.json()["error"]["code"] == "approval_invalid"

    lapsed = await request_approval(system, analyst)
    await decide(system, lapsed["approval_id"], system.token("supervisor"))
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        await conn.execute(
            "UPDATE gateway.approvals SET expires_at = now() - interval '1 minute' WHERE approval_id = $1::uuid",
            lapsed["approval_id"],
        )
    finally:
        await conn.close()
    response = await search(system, lapsed["query"], analyst, lapsed["approval_id"])
    assert response.status_code == 403 and response.json()["error"]["code"] == "approval_invalid"


async def test_a_supervisor_cannot_grant_their_own_request(system) -> None:
    sub = await put_person(system, new_sub("offsup"), ["officer", "supervisor"])
    approval = await request_approval(system, bearer(system, sub))
    response = await decide(system, approval["approval_id"], bearer(system, sub))
    assert response.status_code == 403 and response.json()["error"]["code"] == "self_approval"
    # an officer or analyst cannot decide at all
    assert (await decide(system, approval["approval_id"], system.token("officer"))).status_code == 403


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"plate": "7AB*", "match": "partial"}, "partial_plate"),
        ({"plate": None}, "no_plate"),
        ({"area": {"lat": 37.33, "lon": -121.88, "radius_m": 500}}, "area"),
    ],
)
async def test_each_kind_of_broad_search_needs_an_approval(system, change: dict[str, Any], reason: str) -> None:
    query = {**long_window(unique_plate()), "since": (datetime.now(UTC) - timedelta(days=2)).isoformat(), **change}
    response = await search(system, {k: v for k, v in query.items() if v is not None}, system.token("analyst"))
    assert response.status_code == 403 and response.json()["error"]["code"] == "approval_required"
    assert response.json()["error"]["details"]["broad"] == [reason]


async def test_a_narrow_search_needs_no_approval_and_cannot_request_one(system) -> None:
    query = {**long_window(unique_plate()), "since": (datetime.now(UTC) - timedelta(days=2)).isoformat()}
    body = {"query": query, "purpose": PURPOSE, "justification": JUSTIFICATION}
    response = await system.gateway.post("/v1/approvals", json=body, headers=system.token("analyst"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "approval_not_needed"


@pytest.mark.parametrize("plate", ["", "--", "  ", "- -"])
async def test_a_plate_of_separators_is_refused_not_taken_for_no_plate(system, plate: str) -> None:
    # it read as "no plate" and went to the approval check before records refused it (found in review)
    now = datetime.now(UTC).replace(microsecond=0)
    query = {"plate": plate, "since": (now - timedelta(hours=2)).isoformat(), "until": now.isoformat()}
    searched = {"query": query, "purpose": PURPOSE}
    for route, body in (("/v1/searches", searched), ("/v1/approvals", {**searched, "justification": JUSTIFICATION})):
        response = await system.gateway.post(route, json=body, headers=system.token("analyst"))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["fields"]) == ("invalid_request", ["body.query.plate"]), response.text
        assert error["details"]["reasons"] == {"body.query.plate": "plate_too_short"}


async def test_an_approval_stored_before_a_rule_it_breaks_approves_nothing(system) -> None:
    # a granted approval of a plate of dashes, stored before the contract refused one: 403, not a 500 (review)
    analyst = system.token("analyst")
    approval = await request_approval(system, analyst)
    await decide(system, approval["approval_id"], system.token("supervisor"))
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        await conn.execute(
            "UPDATE gateway.approvals SET query = jsonb_set(query, '{plate}', '\"--\"') WHERE approval_id = $1::uuid",
            approval["approval_id"],
        )
    finally:
        await conn.close()
    response = await search(system, approval["query"], analyst, approval["approval_id"])
    assert response.status_code == 403 and response.json()["error"]["code"] == "approval_mismatch", response.text
