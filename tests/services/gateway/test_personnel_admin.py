"""The personnel registry over the admin API: pending → supervisor activation, training, roles, D1–D4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.utils.registry_people import audit_rows, bearer, fetch, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")

TRAINING = {
    "course": "ALPR use and privacy (Policy 4207)",
    "topics": ["legal_authority", "policy", "technology", "data_security", "practical_use"],
    "completed_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    "expires_at": (datetime.now(UTC) + timedelta(days=365)).isoformat(),
}


async def create(system, sub: str, roles: list[str] | None = None):  # type: ignore[no-untyped-def]
    body = {"sub": sub, "name": "Pat Example", "badge": "7788", "unit": "Patrol", "roles": roles or ["officer"]}
    return await system.gateway.post(
        "/v1/admin/persons", json={**body, "user_class": "patrol"}, headers=system.token("admin")
    )


async def status_of(system, sub: str) -> tuple[str, str | None]:  # type: ignore[no-untyped-def]
    row = (await fetch(system, "SELECT status, status_reason FROM gateway.persons WHERE sub = $1", sub))[0]
    return row["status"], row["status_reason"]


class TestLifecycle:
    async def test_created_pending_then_trained_and_activated_by_a_supervisor_can_search(self, system) -> None:
        sub = new_sub("new")
        created = await create(system, sub)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "pending"
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 403

        trained = await system.gateway.post(
            f"/v1/admin/persons/{sub}/training", json=TRAINING, headers=system.token("admin")
        )
        assert trained.status_code == 201, trained.text
        assert trained.json()["training"][0]["course"] == TRAINING["course"]
        assert trained.json()["status"] == "pending"

        # an admin cannot activate; a supervisor can
        by_admin = await system.gateway.post(f"/v1/admin/persons/{sub}/activation", headers=system.token("admin"))
        assert by_admin.status_code == 403
        activated = await system.gateway.post(f"/v1/admin/persons/{sub}/activation", headers=system.token("supervisor"))
        assert activated.status_code == 200, activated.text
        assert activated.json()["status"] == "active" and activated.json()["approved_by"] == "dev-supervisor"
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200

        rows = await audit_rows(
            system, "event_type = 'personnel_change' AND payload::jsonb -> 'query' ->> 'subject' = $1", sub, expect=3
        )
        changes = [r["payload"]["details"]["change"] for r in rows]
        assert changes == ["created", "training_recorded", "activated"]
        assert rows[2]["actor"]["sub"] == "dev-supervisor"
        assert rows[2]["payload"]["details"]["before"]["status"] == "pending"
        assert rows[2]["payload"]["details"]["after"]["status"] == "active"

    async def test_a_supervisor_cannot_approve_their_own_account(self, system) -> None:
        sub = await put_person(system, new_sub("sup"), ["supervisor"], state="suspended")
        await put_person(system, sub, ["supervisor"])
        # an active supervisor asks to re-approve themself: refused before any state check
        response = await system.gateway.post(f"/v1/admin/persons/{sub}/activation", headers=bearer(system, sub))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "self_approval"

    async def test_duplicate_subject_is_refused(self, system) -> None:
        sub = new_sub("dup")
        assert (await create(system, sub)).status_code == 201
        again = await create(system, sub)
        assert again.status_code == 409 and again.json()["error"]["code"] == "person_exists"

    async def test_unknown_class_and_unknown_role_are_refused(self, system) -> None:
        body = {"sub": new_sub(), "name": "X Y", "badge": "1", "roles": ["officer"], "user_class": "nosuch"}
        response = await system.gateway.post("/v1/admin/persons", json=body, headers=system.token("admin"))
        assert response.json()["error"]["code"] == "unknown_user_class"
        body.update(user_class="sworn", roles=["wizard"])
        response = await system.gateway.post("/v1/admin/persons", json=body, headers=system.token("admin"))
        assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_role"


class TestRolesD1:
    async def test_auditor_and_admin_together_are_refused_by_the_api_and_the_database(self, system) -> None:
        sub = await put_person(system, new_sub("d1"), ["auditor"], user_class="analyst")
        response = await system.gateway.put(
            f"/v1/admin/persons/{sub}/roles",
            json={"roles": ["auditor", "admin"], "user_class": "analyst"},
            headers=system.token("admin"),
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "auditor_admin_conflict"
        assert (await fetch(system, "SELECT roles FROM gateway.persons WHERE sub = $1", sub))[0]["roles"] == ["auditor"]

    async def test_role_change_is_audited_with_before_and_after(self, system) -> None:
        sub = await put_person(system, new_sub("rc"), ["officer"])
        response = await system.gateway.put(
            f"/v1/admin/persons/{sub}/roles",
            json={"roles": ["analyst"], "user_class": "analyst"},
            headers=system.token("admin"),
        )
        assert response.status_code == 200, response.text
        assert response.json()["roles"] == ["analyst"]
        rows = await audit_rows(
            system, "event_type = 'personnel_change' AND payload::jsonb -> 'query' ->> 'subject' = $1", sub
        )
        details = rows[-1]["payload"]["details"]
        assert details["before"]["roles"] == ["officer"] and details["after"]["roles"] == ["analyst"]

    async def test_an_admin_cannot_change_their_own_roles(self, system) -> None:
        response = await system.gateway.put(
            "/v1/admin/persons/dev-admin/roles",
            json={"roles": ["admin", "supervisor"], "user_class": "sworn"},
            headers=system.token("admin"),
        )
        assert response.status_code == 403 and response.json()["error"]["code"] == "self_change"


class TestStatusD2D3D4:
    async def test_deactivation_takes_effect_on_the_next_request(self, system) -> None:
        sub = await put_person(system, new_sub("deact"), ["officer"])
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200
        response = await system.gateway.post(
            f"/v1/admin/persons/{sub}/deactivation",
            json={"reason": "Left the department"},
            headers=system.token("admin"),
        )
        assert response.status_code == 200 and response.json()["status"] == "deactivated"
        after = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
        assert after.status_code == 403 and after.json()["error"]["code"] == "account_inactive"

    async def test_expired_training_suspends_and_new_training_restores(self, system) -> None:
        sub = await put_person(system, new_sub("train"), ["officer"], state="untrained")
        refused = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "training_expired"
        assert await status_of(system, sub) == ("suspended", "training_expired")
        again = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
        assert again.json()["error"]["code"] == "training_expired"

        trained = await system.gateway.post(
            f"/v1/admin/persons/{sub}/training", json=TRAINING, headers=system.token("admin")
        )
        assert trained.json()["status"] == "active"
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200

    async def test_training_that_expires_before_completion_is_refused(self, system) -> None:
        sub = await put_person(system, new_sub("tdates"), ["officer"])
        body = {**TRAINING, "expires_at": TRAINING["completed_at"]}
        response = await system.gateway.post(
            f"/v1/admin/persons/{sub}/training", json=body, headers=system.token("admin")
        )
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_training_dates"

    async def test_ninety_days_unused_suspends_on_use_and_in_the_registry_listing(self, system) -> None:
        old = datetime.now(UTC) - timedelta(days=91)
        on_use = await put_person(system, new_sub("dormant"), ["officer"], last_active=old)
        listed = await put_person(system, new_sub("dormant"), ["officer"], last_active=old)
        recent = await put_person(system, new_sub("recent"), ["officer"], last_active=old + timedelta(days=2))

        refused = await system.gateway.get("/v1/approvals", headers=bearer(system, on_use))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_dormant"

        registry = await system.gateway.get("/v1/admin/persons", headers=system.token("admin"))
        by_sub = {p["sub"]: p for p in registry.json()}
        assert (by_sub[on_use]["status"], by_sub[on_use]["status_reason"]) == ("suspended", "inactive")
        assert (by_sub[listed]["status"], by_sub[listed]["status_reason"]) == ("suspended", "inactive")
        assert by_sub[recent]["status"] == "active"
        rows = await audit_rows(
            system, "event_type = 'personnel_change' AND payload::jsonb -> 'query' ->> 'subject' = $1", listed
        )
        assert rows and rows[-1]["actor"]["kind"] == "system"

        # a supervisor's approval reinstates, and the inactivity clock starts again
        back = await system.gateway.post(f"/v1/admin/persons/{listed}/activation", headers=system.token("supervisor"))
        assert back.json()["status"] == "active"
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, listed))).status_code == 200

    async def test_five_failures_lock_until_an_admin_releases(self, system) -> None:
        sub = await put_person(system, new_sub("lock"), ["officer"])
        for _ in range(5):
            bad = await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=-3600))
            assert bad.status_code == 401
        locked = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
        assert locked.status_code == 403 and locked.json()["error"]["code"] == "account_locked"

        not_locked = await system.gateway.post(
            f"/v1/admin/persons/{sub}/lock-release",
            json={"reason": "Verified with the officer"},
            headers=system.token("admin"),
        )
        assert not_locked.status_code == 200 and not_locked.json()["status"] == "active"
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200
        # the failures before the release no longer count: one more does not lock again
        await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=-3600))
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200

        again = await system.gateway.post(
            f"/v1/admin/persons/{sub}/lock-release",
            json={"reason": "Verified with the officer"},
            headers=system.token("admin"),
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


class TestClassesAndMatrix:
    async def test_permission_matrix_is_served_to_admins(self, system) -> None:
        response = await system.gateway.get("/v1/admin/permissions", headers=system.token("admin"))
        assert response.status_code == 200
        assert response.json()["reads:search"] == ["analyst", "officer"]
        assert response.json()["personnel:approve"] == ["supervisor"]

    async def test_user_class_change_applies_to_the_next_request_and_is_audited(self, system) -> None:
        name = new_sub("class")
        put = await system.gateway.put(
            f"/v1/admin/user-classes/{name}", json={"max_lookback_days": 7}, headers=system.token("admin")
        )
        assert put.status_code == 200 and put.json()["allow_images"] is False
        listed = await system.gateway.get("/v1/admin/user-classes", headers=system.token("admin"))
        assert any(c["name"] == name and c["max_lookback_days"] == 7 for c in listed.json())
        bad = await system.gateway.put(
            f"/v1/admin/user-classes/{name}", json={"max_lookback_days": 400}, headers=system.token("admin")
        )
        assert bad.status_code == 422
        rows = await audit_rows(
            system, "event_type = 'admin_change' AND payload::jsonb -> 'query' ->> 'subject' = $1", f"user_class:{name}"
        )
        assert rows[-1]["payload"]["details"]["change"] == "user_class_created"


async def test_an_admin_cannot_record_their_own_training_or_release_themself(system) -> None:
    sub = await put_person(system, new_sub("selfadm"), ["admin"])
    own = await system.gateway.post(f"/v1/admin/persons/{sub}/training", json=TRAINING, headers=bearer(system, sub))
    assert own.status_code == 403 and own.json()["error"]["code"] == "self_change"
    rows = await fetch(system, "SELECT count(*) AS n FROM gateway.training_records WHERE sub = $1", sub)
    assert rows[0]["n"] == 0
