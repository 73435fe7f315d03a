"""G1/G2: the policy with its version, and transparency figures that hold no personal data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import asyncpg
import pytest

from libs.common.contracts.purpose import AuthorizedUse
from tests.services.gateway.test_first_path import PURPOSE, unique_plate, window

pytestmark = pytest.mark.asyncio(loop_scope="session")
SHIPPED = Path(__file__).resolve().parents[3] / "services" / "gateway" / "policy" / "POLICY.md"
SHARED = Path(__file__).resolve().parents[4] / "shared" / "POLICY.md"


async def test_the_policy_is_public_with_its_version_uses_and_permission_matrix(system) -> None:
    response = await system.gateway.get("/public/policy")
    assert response.status_code == 200
    page = response.json()
    text = SHIPPED.read_text(encoding="utf-8")
    assert page["text"] == text and "4207" in text
    assert page["version"] == "L4207-2016-11-04"
    assert page["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert set(page["authorized_uses"]) == {u.value for u in AuthorizedUse}
    assert page["permissions"]["reads:search"] == ["analyst", "officer"]
    assert page["purpose_rules"]["min_reason_length"] == 20


async def test_the_policy_as_markdown(system) -> None:
    response = await system.gateway.get("/public/policy", headers={"Accept": "text/markdown"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    assert response.headers["x-policy-version"] == "L4207-2016-11-04"
    assert response.text == SHIPPED.read_text(encoding="utf-8")


async def test_the_shipped_policy_is_the_departments(system) -> None:
    if not SHARED.exists():
        pytest.skip("the shared policy folder is not beside this checkout")
    assert SHIPPED.read_bytes() == SHARED.read_bytes()


async def test_transparency_counts_searches_and_denials_and_names_no_one(system) -> None:
    system.runtime("gateway").extras.pop("transparency", None)
    before = (await system.gateway.get("/public/transparency")).json()
    plate = unique_plate()
    ok = await system.gateway.post(
        "/v1/searches",
        json={"query": {"plate": plate, **window()}, "purpose": PURPOSE},
        headers=system.token("officer"),
    )
    assert ok.status_code == 200
    vague = {**PURPOSE, "reason": "investigation"}
    denied = await system.gateway.post(
        "/v1/searches", json={"query": {"plate": plate, **window()}, "purpose": vague}, headers=system.token("officer")
    )
    assert denied.status_code == 422

    cached = (await system.gateway.get("/public/transparency")).json()
    assert cached["counts"] == before["counts"]  # served from the cache for a minute
    system.runtime("gateway").extras.pop("transparency", None)
    import asyncio

    after: dict = {}
    for _ in range(40):  # the denial is recorded asynchronously
        after = (await system.gateway.get("/public/transparency")).json()
        system.runtime("gateway").extras.pop("transparency", None)
        if after["counts"]["denied_searches"] > before["counts"]["denied_searches"]:
            break
        await asyncio.sleep(0.05)
    assert after["counts"]["searches"] >= before["counts"]["searches"] + 1
    assert after["counts"]["denied_searches"] >= before["counts"]["denied_searches"] + 1
    assert after["retention_days"] == 365
    assert after["sources"]["searches"] == "audit log"
    # reads held now, counted by records: between the database count just before and just after
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        sql = "SELECT count(*) FROM records.reads WHERE superseded_by IS NULL"
        low = await conn.fetchval(sql)
        system.runtime("gateway").extras.pop("transparency", None)
        counted = (await system.gateway.get("/public/transparency")).json()
        high = await conn.fetchval(sql)
    finally:
        await conn.close()
    assert low <= counted["counts"]["reads"] <= high and "reads" not in counted["not_available"]
    assert counted["sources"]["reads"] == "records (reads held now)"
    assert after["partner_agencies"] >= 0 and after["sources"]["partner_agencies"] == "sharing agreements in force"

    body = json.dumps(after)
    for personal in (plate, "dev-officer", "Dev Officer", "1001", PURPOSE["case_number"], "203.0.113.7"):
        assert personal not in body
