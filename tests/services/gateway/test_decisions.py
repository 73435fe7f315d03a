"""One decision shape for every two-person step: `{"decision": "approve" | "deny", "reason": …}`.

The old shapes (`{"decision": "grant"}`, `{"approve": true}`, no body) still work for one release and are
answered with a Deprecation header; a body that mixes the two or is neither is a 422 naming the field; a denial
is recorded with its reason wherever an approval is.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from libs.common.errors import MalformedPayload
from services.gateway.api.decisions import Decision, parse_decision
from tests.services.gateway.test_broad_search_approval import request_approval
from tests.services.gateway.test_holds_routes import hold_events, request_hold
from tests.services.gateway.test_personnel_admin import create, status_of
from tests.utils.registry_people import audit_rows, new_sub

REASON = "Case file reviewed with the detective; the request is sound"


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def refused_fields(body: bytes, old: Any) -> list[str]:
    with pytest.raises(RequestValidationError) as refused:
        parse_decision(body, old)
    return [".".join(str(p) for p in e["loc"]) for e in refused.value.errors()]


class TestParsing:
    @pytest.mark.parametrize("old", ["grant_or_refuse", "approve_flag", "no_body"])
    def test_the_new_shape_is_read_the_same_on_every_route(self, old: Any) -> None:
        assert parse_decision(raw({"decision": "approve", "reason": f"  {REASON} "}), old) == Decision(True, REASON)
        assert parse_decision(raw({"decision": "deny", "reason": "No case"}), old) == Decision(False, "No case")

    @pytest.mark.parametrize(
        ("old", "body", "decision"),
        [
            ("grant_or_refuse", {"decision": "grant", "note": "ok"}, Decision(True, "ok", deprecated=True)),
            ("grant_or_refuse", {"decision": "refuse"}, Decision(False, None, deprecated=True)),
            ("approve_flag", {"approve": True}, Decision(True, None, deprecated=True)),
            ("approve_flag", {"approve": False}, Decision(False, None, deprecated=True)),
        ],
    )
    def test_each_route_still_reads_its_old_shape_as_deprecated(self, old: Any, body: Any, decision: Any) -> None:
        assert parse_decision(raw(body), old) == decision

    def test_no_body_is_an_approval_only_where_it_was_one(self) -> None:
        assert parse_decision(b"", "no_body") == Decision(True, None, deprecated=True)
        assert refused_fields(b"", "approve_flag") == ["body"]
        assert refused_fields(b"", "grant_or_refuse") == ["body"]

    @pytest.mark.parametrize(
        ("old", "body", "fields"),
        [
            ("grant_or_refuse", {"decision": "grant", "reason": REASON}, ["body.decision"]),
            ("grant_or_refuse", {"decision": "approve", "reason": REASON, "note": "x"}, ["body.note"]),
            ("approve_flag", {"approve": True, "decision": "approve", "reason": REASON}, ["body.approve"]),
            ("approve_flag", {"approve": True, "reason": REASON}, ["body.decision", "body.approve"]),
            ("no_body", {"decision": "approve"}, ["body.reason"]),
            ("no_body", {"decision": "approve", "reason": "   "}, ["body.reason"]),
            ("no_body", {"decision": "maybe", "reason": REASON}, ["body.decision"]),
        ],
    )
    def test_a_mixed_or_incomplete_body_is_refused_naming_the_field(self, old: Any, body: Any, fields: Any) -> None:
        assert refused_fields(raw(body), old) == fields

    @pytest.mark.parametrize("old", ["grant_or_refuse", "approve_flag", "no_body"])
    def test_an_empty_object_or_a_list_is_neither_shape(self, old: Any) -> None:
        assert refused_fields(b"{}", old) == ["body.decision", "body.reason"]
        assert refused_fields(b"[]", old) == ["body"]

    def test_a_body_that_is_not_json_is_refused(self) -> None:
        with pytest.raises(MalformedPayload):
            parse_decision(b"{approve", "approve_flag")


def deprecated(response: Any) -> bool:
    return response.headers.get("Deprecation") == "true" and '\\"decision\\"' in response.headers.get("Warning", "")


@pytest.mark.asyncio(loop_scope="session")
class TestBroadSearchApprovals:
    async def test_a_denial_is_recorded_with_its_reason(self, system: Any) -> None:
        approval = await request_approval(system, system.token("analyst"))
        url = f"/v1/approvals/{approval['approval_id']}/decision"
        body = {"decision": "deny", "reason": "No case number ties this area to the robbery"}
        denied = await system.gateway.post(url, json=body, headers=system.token("supervisor"))
        assert denied.status_code == 200, denied.text
        assert denied.json()["status"] == "refused" and "Deprecation" not in denied.headers
        assert denied.json()["decision_reason"] == body["reason"]
        rows = await audit_rows(
            system,
            "event_type = 'admin_change' AND payload::jsonb -> 'details' ->> 'approval_id' = $1",
            approval["approval_id"],
            expect=2,
        )
        details = rows[-1]["payload"]["details"]
        assert details["change"] == "approval_refused"
        assert (details["decision"], details["reason"]) == ("deny", body["reason"])

    async def test_the_old_grant_is_still_read_with_a_deprecation_header(self, system: Any) -> None:
        approval = await request_approval(system, system.token("analyst"))
        url = f"/v1/approvals/{approval['approval_id']}/decision"
        granted = await system.gateway.post(
            url, json={"decision": "grant", "note": "checked"}, headers=system.token("supervisor")
        )
        assert granted.status_code == 200, granted.text
        assert granted.json()["status"] == "granted" and deprecated(granted)

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({"decision": "grant", "reason": REASON}, ["body.decision"]),
            ({"decision": "approve", "reason": REASON, "note": "x"}, ["body.note"]),
            ({}, ["body.decision", "body.reason"]),
            (None, ["body"]),
        ],
    )
    async def test_mixed_or_empty_bodies_are_refused_and_decide_nothing(
        self, system: Any, body: Any, fields: list[str]
    ) -> None:
        approval = await request_approval(system, system.token("analyst"))
        url = f"/v1/approvals/{approval['approval_id']}/decision"
        refused = await system.gateway.post(url, json=body, headers=system.token("supervisor"))
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"] == fields
        still = await system.gateway.get(f"/v1/approvals/{approval['approval_id']}", headers=system.token("supervisor"))
        assert still.json()["status"] == "requested"


@pytest.mark.asyncio(loop_scope="session")
class TestHolds:
    async def test_a_denial_is_recorded_with_its_reason(self, system: Any) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        body = {"decision": "deny", "reason": "The selection names no read tied to the case"}
        denied = await system.gateway.post(
            f"/v1/holds/{hold_id}/decision", json=body, headers=system.token("supervisor")
        )
        assert denied.status_code == 200, denied.text
        assert denied.json()["status"] == "rejected" and "Deprecation" not in denied.headers
        events = await hold_events(system, hold_id)  # the decision commits only once its record is kept
        decided = events[-1]["details"]
        assert decided["action"] == "rejected"
        assert (decided["decision"], decided["reason"], decided["decision_reason"]) == (
            "deny",
            body["reason"],
            body["reason"],
        )

    async def test_the_old_flag_is_still_read_with_a_deprecation_header(self, system: Any) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        approved = await system.gateway.post(
            f"/v1/holds/{hold_id}/decision", json={"approve": True}, headers=system.token("supervisor")
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "active" and deprecated(approved)

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({"approve": True, "decision": "approve", "reason": REASON}, ["body.approve"]),
            ({}, ["body.decision", "body.reason"]),
            (None, ["body"]),
        ],
    )
    async def test_mixed_or_empty_bodies_are_refused(self, system: Any, body: Any, fields: list[str]) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        refused = await system.gateway.post(
            f"/v1/holds/{hold_id}/decision", json=body, headers=system.token("supervisor")
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"] == fields


@pytest.mark.asyncio(loop_scope="session")
class TestActivation:
    async def test_a_denial_leaves_the_account_pending_and_is_recorded_with_its_reason(self, system: Any) -> None:
        sub = new_sub("deny")
        assert (await create(system, sub)).status_code == 201
        body = {"decision": "deny", "reason": "Background check not yet returned"}
        denied = await system.gateway.post(
            f"/v1/admin/persons/{sub}/activation", json=body, headers=system.token("supervisor")
        )
        assert denied.status_code == 200, denied.text
        assert denied.json()["status"] == "pending" and "Deprecation" not in denied.headers
        assert await status_of(system, sub) == ("pending", None)
        rows = await audit_rows(
            system, "event_type = 'personnel_change' AND payload::jsonb -> 'query' ->> 'subject' = $1", sub, expect=2
        )
        details = rows[-1]["payload"]["details"]
        assert (details["change"], details["decision"], details["reason"]) == (
            "activation_denied",
            "deny",
            body["reason"],
        )
        assert rows[-1]["actor"]["sub"] == "dev-supervisor"

    async def test_approval_in_the_new_shape_and_the_old_bodiless_one(self, system: Any) -> None:
        sub, old = new_sub("appr"), new_sub("old")
        for person in (sub, old):
            assert (await create(system, person)).status_code == 201
        body = {"decision": "approve", "reason": "Training and background verified"}
        approved = await system.gateway.post(
            f"/v1/admin/persons/{sub}/activation", json=body, headers=system.token("supervisor")
        )
        assert approved.status_code == 200 and approved.json()["status"] == "active"
        assert "Deprecation" not in approved.headers
        bodiless = await system.gateway.post(f"/v1/admin/persons/{old}/activation", headers=system.token("supervisor"))
        assert bodiless.status_code == 200 and bodiless.json()["status"] == "active" and deprecated(bodiless)

    @pytest.mark.parametrize(
        ("body", "fields"),
        [({}, ["body.decision", "body.reason"]), ({"decision": "approve", "approve": True}, None)],
    )
    async def test_an_empty_or_mixed_body_is_refused(self, system: Any, body: Any, fields: Any) -> None:
        sub = new_sub("bad")
        assert (await create(system, sub)).status_code == 201
        refused = await system.gateway.post(
            f"/v1/admin/persons/{sub}/activation", json=body, headers=system.token("supervisor")
        )
        assert refused.status_code == 422, refused.text
        named = refused.json()["error"]["fields"]
        assert named == fields if fields else {"body.reason", "body.approve"} <= set(named)
        assert await status_of(system, sub) == ("pending", None)
