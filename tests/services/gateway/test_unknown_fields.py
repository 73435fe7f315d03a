"""Our own request bodies refuse a field they do not know (422 naming it) instead of dropping it unread.

A misspelt or invented field (`"status": "active"` on a new person, `"auto_approve"` on an agreement) must not
pass as if it were left out. Vendor camera formats stay lenient (tests/services/gateway/ingest); searches and
alerts are covered beside their routes, hotlists in test_hotlist_routes.py, partner bodies in
tests/services/sharing/test_partner_unknown_fields.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from libs.common.contracts.sharing import AGREEMENT_EXAMPLE
from tests.services.gateway.test_broad_search_approval import JUSTIFICATION, long_window
from tests.services.gateway.test_first_path import PURPOSE
from tests.services.gateway.test_holds_routes import hold_body
from tests.services.gateway.test_personnel_admin import TRAINING
from tests.utils.registry_people import fetch, new_sub

pytestmark = pytest.mark.asyncio(loop_scope="session")
NOWHERE = str(uuid.uuid4())  # a path id that names nothing: the body is refused before any lookup


def person(sub: str, **extra: Any) -> dict[str, Any]:
    return {"sub": sub, "name": "Pat Example", "badge": "7788", "roles": ["officer"], "user_class": "patrol", **extra}


CASES: list[tuple[str, str, str, Any, str]] = [
    (
        "POST",
        "/v1/approvals",
        "analyst",
        {"query": long_window("7ABC123"), "purpose": PURPOSE, "justification": JUSTIFICATION, "priority": "high"},
        "priority",
    ),
    ("POST", "/v1/holds", "officer", hold_body(urgent=True), "urgent"),
    ("POST", f"/v1/holds/{NOWHERE}/release", "supervisor", {"reason": "Case closed on appeal", "force": True}, "force"),
    ("POST", f"/v1/admin/persons/{new_sub()}/training", "admin", {**TRAINING, "verified_by": "me"}, "verified_by"),
    (
        "PUT",
        "/v1/admin/persons/x/roles",
        "admin",
        {"roles": ["analyst"], "user_class": "analyst", "agency": "Z"},
        "agency",
    ),
    ("POST", "/v1/admin/persons/x/deactivation", "admin", {"reason": "Left the force", "notify": True}, "notify"),
    (
        "POST",
        "/v1/admin/persons/x/lock-release",
        "admin",
        {"reason": "Identity checked", "unlock_all": 1},
        "unlock_all",
    ),
    ("PUT", "/v1/admin/user-classes/patrol", "admin", {"max_lookback_days": 30, "allow_export": True}, "allow_export"),
    (
        "POST",
        "/v1/admin/partners",
        "admin",
        {"ori": "CA0410000", "name": "Santa Clara County Sheriff", "kind": "ca_local_agency", "country": "US"},
        "country",
    ),
    (
        "POST",
        "/v1/admin/agreements",
        "admin",
        {**AGREEMENT_EXAMPLE, "reason": "Signed by both chiefs", "auto_approve": True},
        "auto_approve",
    ),
    (
        "POST",
        f"/v1/admin/agreements/{NOWHERE}/revocation",
        "admin",
        {"reason": "Breach", "effective": "now"},
        "effective",
    ),
    ("POST", f"/v1/admin/agreements/{NOWHERE}/clients", "admin", {"secret": "mine"}, "secret"),
    (
        "POST",
        f"/v1/reads/{NOWHERE}/corrections",
        "officer",
        {
            "plate": "8ABC128",
            "reason": "The image shows an 8 where the reader gave a B",
            "image_view_id": "0b6f3c1e-3d0e-4e43-9d57-2f4f0f7f6a11",
            "verified": True,
        },
        "verified",
    ),
]


@pytest.mark.parametrize(("method", "path", "role", "body", "field"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_an_unknown_field_is_refused_naming_it(
    system: Any, method: str, path: str, role: str, body: Any, field: str
) -> None:
    response = await system.gateway.request(method, path, json=body, headers=system.token(role))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["fields"] == [f"body.{field}"]


async def test_a_new_person_cannot_carry_their_own_status(system: Any) -> None:
    """The field an attacker would add: a person created `active`, past the supervisor's activation."""
    sub = new_sub("esc")
    response = await system.gateway.post(
        "/v1/admin/persons", json=person(sub, status="active"), headers=system.token("admin")
    )
    assert response.status_code == 422 and response.json()["error"]["fields"] == ["body.status"]
    assert await fetch(system, "SELECT 1 FROM gateway.persons WHERE sub = $1", sub) == []
    created = await system.gateway.post("/v1/admin/persons", json=person(sub), headers=system.token("admin"))
    assert created.status_code == 201 and created.json()["status"] == "pending"
