"""Every route × every role × (active, untrained, suspended, locked): who gets past the door.

An allowed caller is sent an invalid body or a missing id, so the expected answer (422, 404 or 200)
shows the door let them in without changing anything; a refused caller gets 401 or 403 and a code.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.gateway.service import PERSON_ROLES
from tests.utils.registry_people import STATE_REFUSALS, STATES, bearer, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")
ROLES = sorted(PERSON_ROLES)
ANY = "*"
X = str(uuid.uuid4())

# method, path, roles let in (ANY: everyone), what a let-in caller gets
ROUTES: list[tuple[str, str, frozenset[str] | str, int]] = [
    ("POST", "/v1/searches", frozenset({"officer", "analyst"}), 422),
    ("GET", f"/v1/reads/{X}", frozenset({"officer", "analyst"}), 422),
    ("GET", f"/v1/reads/{X}/image", frozenset({"officer", "analyst"}), 422),
    ("POST", "/v1/approvals", frozenset({"officer", "analyst"}), 422),
    ("GET", "/v1/approvals", frozenset({"officer", "analyst", "supervisor"}), 200),
    ("GET", f"/v1/approvals/{X}", frozenset({"officer", "analyst", "supervisor"}), 404),
    ("POST", f"/v1/approvals/{X}/decision", frozenset({"supervisor"}), 422),
    ("GET", "/v1/admin/persons", frozenset({"admin"}), 200),
    ("POST", "/v1/admin/persons", frozenset({"admin"}), 422),
    ("GET", f"/v1/admin/persons/{X}", frozenset({"admin"}), 404),
    ("POST", f"/v1/admin/persons/{X}/activation", frozenset({"supervisor"}), 422),  # `{}` is no decision
    ("POST", f"/v1/admin/persons/{X}/training", frozenset({"admin"}), 422),
    ("PUT", f"/v1/admin/persons/{X}/roles", frozenset({"admin"}), 422),
    ("POST", f"/v1/admin/persons/{X}/deactivation", frozenset({"admin"}), 422),
    ("POST", f"/v1/admin/persons/{X}/lock-release", frozenset({"admin"}), 422),
    ("GET", "/v1/admin/permissions", frozenset({"admin"}), 200),
    ("GET", "/v1/admin/user-classes", frozenset({"admin"}), 200),
    ("PUT", f"/v1/admin/user-classes/{X}", frozenset({"admin"}), 422),
    ("GET", "/v1/admin/flags", frozenset({"admin", "auditor"}), 200),
    ("GET", "/v1/admin/deletion-certificates", frozenset({"custodian", "auditor"}), 200),
    ("GET", "/v1/admin/share-ledger", frozenset({"custodian", "auditor"}), 200),
    ("POST", "/v1/admin/purges", frozenset({"custodian"}), 422),
    ("GET", "/public/policy", ANY, 200),
    ("GET", "/public/transparency", ANY, 200),
]
# routes under /v1 a person's token never opens: cameras post reads there
CAMERA_ROUTES = {
    ("POST", "/v1/reads"),
    ("POST", "/v1/ingest"),
    ("POST", "/v1/ingest/{fmt}"),
    ("POST", "/v1/ingest/image"),
    ("GET", "/v1/ingest/image/{frame_id}"),
}


@pytest.fixture(scope="module")
async def people(system) -> dict[tuple[str, str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """One person per role and state, with the class that allows everything so only the door decides."""
    found = {}
    for role in ROLES:
        for state in STATES:
            sub = await put_person(system, f"mx-{role}-{state}-{uuid.uuid4().hex[:6]}", [role], state=state)
            found[(role, state)] = bearer(system, sub)
    return found


async def call(system, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
    return await system.gateway.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "allowed", "let_in"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES])
async def test_the_matrix(system, people, method: str, path: str, allowed, let_in: int) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for (role, state), headers in people.items():
        response = await call(system, method, path, headers)
        if allowed == ANY:
            expected, code = let_in, None
        elif state != "active":
            expected, code = 403, STATE_REFUSALS[state]
        elif role in allowed:
            expected, code = let_in, None
        else:
            expected, code = 403, "forbidden"
        got_code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
        if response.status_code != expected or (code and got_code != code):
            failures.append(f"{role}/{state}: {response.status_code} {got_code}, expected {expected} {code}")
    if allowed != ANY:
        anonymous = await call(system, method, path, {})
        if anonymous.status_code != 401:
            failures.append(f"no token: {anonymous.status_code}")
    assert not failures, failures


async def test_every_other_route_refuses_every_role_in_a_lapsed_state(system, people) -> None:  # type: ignore[no-untyped-def]
    """The routes other areas add are held to the same door: no account that lapsed gets through."""
    known = {(m, p) for m, p, _, _ in ROUTES}
    failures = []
    checked = 0
    for path, operations in system.apps["gateway"].openapi()["paths"].items():
        methods = {m.upper() for m in operations}
        if not path.startswith("/v1/"):
            continue  # public pages, partner and OAuth routes, operator endpoints
        concrete = path
        for part in path.split("/"):
            if part.startswith("{"):
                concrete = concrete.replace(part, str(uuid.uuid4()))
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if (method, concrete) in known or (method, path) in CAMERA_ROUTES:
                continue
            checked += 1
            for (role, state), headers in people.items():
                if state == "active":
                    continue
                response = await call(system, method, concrete, headers)
                code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
                if response.status_code != 403 or code != STATE_REFUSALS[state]:
                    failures.append(f"{method} {path} {role}/{state}: {response.status_code} {code}")
            anonymous = await call(system, method, concrete, {})
            if anonymous.status_code != 401:
                failures.append(f"{method} {path} no token: {anonymous.status_code}")
    assert checked > 0
    assert not failures, failures


async def test_a_valid_token_of_someone_not_in_the_registry_gets_nothing(system) -> None:
    for method, path, allowed, _ in ROUTES:
        if allowed == ANY:
            continue
        response = await call(system, method, path, bearer(system, f"stranger-{uuid.uuid4().hex[:6]}"))
        assert response.status_code == 403 and response.json()["error"]["code"] == "not_eligible", (method, path)
