"""Partners and agreements through the admin API: eligibility (C1, C7) and the two-person rule (C3)."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def fetch(system, sql: str, *args):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


class TestOnlyCaliforniaPublicAgencies:
    @pytest.mark.parametrize(
        ("ori", "name", "kind", "state"),
        [
            ("CAFBI0100", "FBI San Francisco Field Office", "federal", "CA"),
            ("CA0410000", "Immigration and Customs Enforcement ERO", "ca_local_agency", "CA"),
            ("NV0020000", "Las Vegas Metropolitan Police", "ca_local_agency", "NV"),
            ("CA0419999", "Acme Repossessions LLC", "commercial", "CA"),
        ],
        ids=["federal", "federal-named-as-local", "out-of-state", "commercial"],
    )
    async def test_is_refused_and_nothing_is_stored(self, system, ori, name, kind, state) -> None:
        body = {"ori": ori, "name": name, "kind": kind, "state": state}
        response = await system.gateway.post("/v1/admin/partners", json=body, headers=system.token("admin"))
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "partner_not_california_public"
        assert await fetch(system, "SELECT 1 FROM sharing.partners WHERE ori = $1 AND name = $2", ori, name) == []
        # refusals are recorded without holding up the answer, so the record may land a moment later
        for _ in range(100):
            denied = await fetch(
                system,
                "SELECT payload FROM audit.access_records WHERE event_type = 'admin_change' "
                "AND payload::jsonb -> 'query' -> 'partner' ->> 'name' = $1",
                name,
            )
            if denied:
                break
            await asyncio.sleep(0.1)
        assert denied, "the refused attempt is in the audit log"

    async def test_a_california_local_agency_is_entered(self, system, partners) -> None:
        ori = await partners.partner()
        rows = await fetch(system, "SELECT kind, created_by FROM sharing.partners WHERE ori = $1", ori)
        assert [tuple(r) for r in rows] == [("ca_local_agency", "dev-admin")]

    async def test_an_officer_cannot_enter_a_partner(self, system, partners) -> None:
        body = {"ori": partners.new_ori(), "name": "Gilroy PD", "kind": "ca_local_agency", "state": "CA"}
        response = await system.gateway.post("/v1/admin/partners", json=body, headers=system.token("officer"))
        assert response.status_code == 403


class TestTwoPersonRule:
    async def test_proposal_takes_effect_only_when_the_custodian_approves(self, system, partners) -> None:
        ori = await partners.partner()
        proposed = await system.gateway.post(
            "/v1/admin/agreements", json=partners.terms(ori), headers=system.token("admin")
        )
        assert proposed.status_code == 202, proposed.text
        proposal = proposed.json()
        assert proposal["status"] == "pending" and proposal["before"] is None
        assert await fetch(system, "SELECT 1 FROM sharing.agreements WHERE id = $1", proposal["agreement_id"]) == []

        by_admin = await system.gateway.post(
            f"/v1/admin/agreement-proposals/{proposal['id']}/approval", headers=system.token("admin")
        )
        assert by_admin.status_code == 403

        approved = await partners.approve(proposal["id"])
        assert approved["status"] == "approved"
        assert approved["proposed_by"] == "dev-admin" and approved["approved_by"] == "dev-custodian"
        rows = await fetch(
            system, "SELECT version, status FROM sharing.agreements WHERE id = $1", approved["agreement_id"]
        )
        assert [tuple(r) for r in rows] == [(1, "active")]
        again = await system.gateway.post(
            f"/v1/admin/agreement-proposals/{proposal['id']}/approval", headers=system.token("custodian")
        )
        assert again.status_code == 409

    async def test_the_proposer_cannot_approve_even_holding_both_roles(self, system, partners) -> None:
        sub = f"both-{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            await conn.execute(
                "INSERT INTO gateway.persons (sub, name, badge, agency, unit, roles, user_class, status, "
                "training_expires_at, last_active_at, approved_by) VALUES ($1, 'Both Roles', '7001', 'CA0430000', "
                "'BFO', $2, 'sworn', 'active', now() + interval '1 year', now(), 'test')",
                sub,
                ["admin", "custodian"],
            )
        finally:
            await conn.close()
        ori = await partners.partner()
        proposed = await system.gateway.post(
            "/v1/admin/agreements", json=partners.terms(ori), headers=system.token("admin", sub=sub)
        )
        assert proposed.status_code == 202, proposed.text
        response = await system.gateway.post(
            f"/v1/admin/agreement-proposals/{proposed.json()['id']}/approval",
            headers=system.token("custodian", sub=sub),
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "approver_is_proposer"

    async def test_a_change_keeps_the_before_and_after_and_supersedes_the_old_version(self, system, partners) -> None:
        made = await partners.agreement()
        terms = partners.terms(made["ori"], id=made["agreement_id"], max_lookback_days=7, reason="Narrowed look-back")
        proposed = await system.gateway.post("/v1/admin/agreements", json=terms, headers=system.token("admin"))
        assert proposed.status_code == 202, proposed.text
        assert proposed.json()["action"] == "change"
        await partners.approve(proposed.json()["id"])
        history = await system.gateway.get(
            f"/v1/admin/agreements/{made['agreement_id']}", headers=system.token("custodian")
        )
        assert history.status_code == 200
        versions = [(v["version"], v["status"], v["max_lookback_days"]) for v in history.json()["versions"]]
        assert versions == [(1, "superseded", 30), (2, "active", 7)]
        change = history.json()["proposals"][-1]
        assert change["before"]["max_lookback_days"] == 30 and change["after"]["max_lookback_days"] == 7
        audited = await fetch(
            system,
            "SELECT actor, payload FROM audit.access_records WHERE event_type = 'agreement_change' "
            "AND payload::jsonb -> 'details' -> 'result' ->> 'id' = $1",
            change["id"],
        )
        actors = sorted(json.loads(r["actor"])["sub"] for r in audited)
        assert actors == ["dev-admin", "dev-custodian"]

    async def test_a_partner_of_another_kind_cannot_be_proposed_for(self, system, partners) -> None:
        response = await system.gateway.post(
            "/v1/admin/agreements", json=partners.terms("CA0000001"), headers=system.token("admin")
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "partner_not_found"


class TestReadingAgreements:
    async def test_admin_and_custodian_list_partners_and_agreements_an_officer_cannot(self, system, partners) -> None:
        made = await partners.agreement()
        for role in ("admin", "custodian"):
            listed = await system.gateway.get("/v1/admin/agreements", headers=system.token(role))
            assert listed.status_code == 200
            mine = [a for a in listed.json()["agreements"] if a["id"] == made["agreement_id"]]
            assert [(a["partner_ori"], a["status"], a["version"]) for a in mine] == [(made["ori"], "active", 1)]
            entered = await system.gateway.get("/v1/admin/partners", headers=system.token(role))
            assert made["ori"] in [p["ori"] for p in entered.json()["partners"]]
        refused = await system.gateway.get("/v1/admin/agreements", headers=system.token("officer"))
        assert refused.status_code == 403

    async def test_a_revoked_agreement_lists_as_revoked_and_takes_no_new_clients(self, system, partners) -> None:
        made = await partners.agreement()
        await partners.revoke(made["agreement_id"])
        history = await system.gateway.get(
            f"/v1/admin/agreements/{made['agreement_id']}", headers=system.token("admin")
        )
        assert [v["status"] for v in history.json()["versions"]] == ["superseded", "revoked"]
        assert [p["action"] for p in history.json()["proposals"]] == ["create", "revoke"]
        response = await system.gateway.post(
            f"/v1/admin/agreements/{made['agreement_id']}/clients", json={}, headers=system.token("admin")
        )
        assert response.status_code == 409 and response.json()["error"]["code"] == "agreement_inactive"
