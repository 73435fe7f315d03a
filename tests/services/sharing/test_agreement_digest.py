"""The custodian approves a signed document for a known agency: kind, ORI and digest shown and recorded (C1, C3)."""

from __future__ import annotations

import json

import asyncpg
import pytest

from libs.common.errors import Forbidden, InvalidInput
from services.sharing.partners.approvals import approve, partner_facts, propose
from services.sharing.partners.eligibility import PartnerAgency, PartnerKind
from tests.services.sharing.conftest import DOCUMENT_SHA256


class TestDigestAndPartnerInTheCore:
    def test_a_proposal_without_the_documents_digest_is_refused(self, admin, agreement, partner, now) -> None:
        undigested = agreement.model_copy(update={"document_sha256": None})
        with pytest.raises(InvalidInput) as refused:
            propose(admin, undigested, partner=partner, current=None, now=now, reason="New IAA signed")
        assert refused.value.code == "document_digest_required"

    def test_the_approval_keeps_the_partner_and_the_digest(self, admin, custodian, agreement, partner, now) -> None:
        proposal = propose(admin, agreement, partner=partner, current=None, now=now, reason="New IAA signed")
        record = approve(proposal, custodian, partner=partner, current=None, now=now)
        assert partner_facts(record.partner) == {
            "ori": "CA0410000",
            "name": "Santa Clara County Sheriff",
            "kind": "ca_local_agency",
            "state": "CA",
        }
        assert record.after["document_sha256"] == DOCUMENT_SHA256

    def test_a_partner_entered_under_older_rules_is_refused_at_approval(
        self, admin, custodian, agreement, partner, now
    ) -> None:
        proposal = propose(admin, agreement, partner=partner, current=None, now=now, reason="New IAA signed")
        vendor = PartnerAgency(ori="CA0410000", name="Vigilant Solutions", kind=PartnerKind.CA_LOCAL_AGENCY, state="CA")
        with pytest.raises(Forbidden) as refused:
            approve(proposal, custodian, partner=vendor, current=None, now=now)
        assert refused.value.code == "partner_not_california_public"


session_loop = pytest.mark.asyncio(loop_scope="session")


async def fetch(system, sql: str, *args):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


@session_loop
class TestApprovalThroughTheApi:
    async def test_vigilant_solutions_as_a_local_agency_is_refused(self, system) -> None:
        body = {"ori": "CA0439000", "name": "Vіgilant Solutions", "kind": "ca_local_agency", "state": "CA"}
        response = await system.gateway.post("/v1/admin/partners", json=body, headers=system.token("admin"))
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "partner_not_california_public"

    async def test_a_malformed_california_ori_is_refused(self, system) -> None:
        body = {"ori": "CA0990000", "name": "Santa Clara County Sheriff", "kind": "ca_local_agency", "state": "CA"}
        response = await system.gateway.post("/v1/admin/partners", json=body, headers=system.token("admin"))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_ori"

    async def test_the_custodian_sees_kind_ori_and_digest_and_the_decision_keeps_them(self, system, partners) -> None:
        ori = await partners.partner(name="Santa Clara County Sheriff")
        proposed = await system.gateway.post(
            "/v1/admin/agreements", json=partners.terms(ori), headers=system.token("admin")
        )
        assert proposed.status_code == 202, proposed.text
        pending = proposed.json()
        shown = {"ori": ori, "name": "Santa Clara County Sheriff", "kind": "ca_local_agency", "state": "CA"}
        assert pending["partner"] == shown and pending["document_sha256"] == DOCUMENT_SHA256
        history = await system.gateway.get(
            f"/v1/admin/agreements/{pending['agreement_id']}", headers=system.token("custodian")
        )
        [seen] = history.json()["proposals"]
        assert (seen["partner"], seen["document_sha256"]) == (shown, DOCUMENT_SHA256)
        one = await system.gateway.get(
            f"/v1/admin/agreement-proposals/{pending['id']}", headers=system.token("custodian")
        )
        assert one.status_code == 200, one.text
        assert (one.json()["partner"], one.json()["document_sha256"]) == (shown, DOCUMENT_SHA256)
        waiting = await system.gateway.get("/v1/admin/agreement-proposals", headers=system.token("custodian"))
        assert [p["partner"] for p in waiting.json()["proposals"] if p["id"] == pending["id"]] == [shown]

        approved = await partners.approve(pending["id"])
        assert approved["partner"] == shown and approved["document_sha256"] == DOCUMENT_SHA256
        [row] = await fetch(
            system, "SELECT partner, after FROM sharing.agreement_proposals WHERE id = $1", pending["id"]
        )
        assert json.loads(row["partner"]) == shown
        assert json.loads(row["after"])["document_sha256"] == DOCUMENT_SHA256
        [version] = await fetch(
            system, "SELECT document_sha256 FROM sharing.agreements WHERE id = $1", pending["agreement_id"]
        )
        assert version["document_sha256"] == DOCUMENT_SHA256
        decided = await fetch(
            system,
            "SELECT payload FROM audit.access_records WHERE event_type = 'agreement_change' "
            "AND payload::jsonb -> 'query' ->> 'action' = 'agreements.approve' "
            "AND payload::jsonb -> 'details' -> 'result' ->> 'id' = $1",
            pending["id"],
        )
        [result] = [json.loads(r["payload"])["details"]["result"] for r in decided]
        assert result["partner"] == shown and result["document_sha256"] == DOCUMENT_SHA256

    async def test_a_proposal_without_a_digest_is_refused(self, system, partners) -> None:
        ori = await partners.partner()
        terms = {k: v for k, v in partners.terms(ori).items() if k != "document_sha256"}
        response = await system.gateway.post("/v1/admin/agreements", json=terms, headers=system.token("admin"))
        assert response.status_code == 422, response.text

    async def test_proposals_are_shown_to_staff_only_and_an_unknown_one_is_not_found(self, system) -> None:
        officer = await system.gateway.get("/v1/admin/agreement-proposals", headers=system.token("officer"))
        assert officer.status_code == 403
        for bad in ("nope", "' OR 1=1 --", "x" * 300, "%00", "%E2%80%8B"):
            unknown = await system.gateway.get(
                f"/v1/admin/agreement-proposals/{bad}", headers=system.token("custodian")
            )
            assert unknown.status_code in (404, 422), (bad, unknown.text)
        unknown = await system.gateway.get("/v1/admin/agreement-proposals/nope", headers=system.token("custodian"))
        assert unknown.json()["error"]["code"] == "proposal_not_found"
