"""The custodian's decision on an agreement proposal, in the one decision shape, over the admin API.

A denial is kept in the proposal's row and its audit record with the reason, and changes no agreement; the
old bodiless approval still works for one release, with a Deprecation header; a mixed or empty body is a 422.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from tests.services.sharing.conftest import PartnerSetup

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def proposed(partners: PartnerSetup) -> dict[str, Any]:
    ori = await partners.partner()
    response = await partners.http.post(
        "/v1/admin/agreements", json=partners.terms(ori), headers=partners.system.token("admin")
    )
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def decide(partners: PartnerSetup, proposal_id: str, body: Any, role: str = "custodian") -> Any:
    return await partners.http.post(
        f"/v1/admin/agreement-proposals/{proposal_id}/approval", json=body, headers=partners.system.token(role)
    )


async def decision_records(system: Any, proposal_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT payload FROM audit.access_records WHERE event_type = 'agreement_change' "
            "AND (payload::jsonb) -> 'query' ->> 'action' = 'agreements.approve' "
            "AND (payload::jsonb) -> 'query' ->> 'proposal_id' = $1 ORDER BY seq",
            proposal_id,
        )
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


class TestDenial:
    async def test_a_denial_keeps_its_reason_and_makes_no_agreement(self, partners: PartnerSetup) -> None:
        proposal = await proposed(partners)
        reason = "The signed document's digest does not match the copy on file"
        denied = await decide(partners, proposal["id"], {"decision": "deny", "reason": reason})
        assert denied.status_code == 200, denied.text
        view = denied.json()
        assert (view["status"], view["denied_by"], view["decision_reason"]) == ("denied", "dev-custodian", reason)
        assert view["approved_by"] is None and "Deprecation" not in denied.headers
        history = await partners.http.get(
            f"/v1/admin/agreements/{proposal['agreement_id']}", headers=partners.system.token("admin")
        )
        assert history.json()["versions"] == []
        [record] = await decision_records(partners.system, proposal["id"])
        assert (record["query"]["approve"], record["query"]["reason"]) == (False, reason)
        assert record["details"]["result"]["status"] == "denied"
        again = await decide(partners, proposal["id"], {"decision": "approve", "reason": "Second thoughts"})
        assert again.status_code == 409 and again.json()["error"]["code"] == "proposal_decided"

    async def test_an_admin_cannot_deny(self, partners: PartnerSetup) -> None:
        proposal = await proposed(partners)
        refused = await decide(partners, proposal["id"], {"decision": "deny", "reason": "No"}, role="admin")
        assert refused.status_code == 403


class TestApproval:
    async def test_the_new_shape_approves_and_keeps_the_reason(self, partners: PartnerSetup) -> None:
        proposal = await proposed(partners)
        reason = "Document digest checked against the signed copy"
        approved = await decide(partners, proposal["id"], {"decision": "approve", "reason": reason})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved" and approved.json()["decision_reason"] == reason
        assert "Deprecation" not in approved.headers

    async def test_the_old_bodiless_approval_is_deprecated(self, partners: PartnerSetup) -> None:
        proposal = await proposed(partners)
        approved = await partners.http.post(
            f"/v1/admin/agreement-proposals/{proposal['id']}/approval", headers=partners.system.token("custodian")
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved"
        assert approved.headers["Deprecation"] == "true" and "decision" in approved.headers["Warning"]

    @pytest.mark.parametrize(
        ("body", "fields"),
        [
            ({}, ["body.decision", "body.reason"]),
            ({"decision": "approve", "reason": "Checked", "approved": True}, ["body.approved"]),
        ],
    )
    async def test_an_empty_or_mixed_body_is_refused(
        self, partners: PartnerSetup, body: Any, fields: list[str]
    ) -> None:
        proposal = await proposed(partners)
        refused = await decide(partners, proposal["id"], body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"] == fields
        still = await partners.http.get(
            f"/v1/admin/agreement-proposals/{proposal['id']}", headers=partners.system.token("custodian")
        )
        assert still.json()["status"] == "pending"
