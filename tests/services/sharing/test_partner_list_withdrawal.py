"""A partner's list matches only while an agreement in force grants that partner `hotlists:write`."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

pytestmark = pytest.mark.asyncio(loop_scope="session")


def plate() -> str:
    return "6" + uuid.uuid4().hex[:6].upper().replace("O", "0")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def fetch(system, sql: str, *args: Any) -> list[Any]:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def live_plates(system, ori: str) -> set[str]:  # type: ignore[no-untyped-def]
    rows = await fetch(
        system,
        "SELECT e.plate FROM records.hotlist_entries e JOIN records.hotlists h ON h.hotlist_id = e.hotlist_id "
        "WHERE h.partner_ori = $1 AND e.removed_at IS NULL",
        ori,
    )
    return {r["plate"] for r in rows}


async def put_list(system, partners, setup: dict[str, Any], *plates: str) -> None:  # type: ignore[no-untyped-def]
    token = await partners.token(setup)
    entries = [{"plate": p, "state": "CA"} for p in plates]
    response = await system.gateway.put("/partner/v1/hotlists", json={"entries": entries}, headers=bearer(token))
    assert response.status_code == 200, response.text


async def camera_read(system, read_plate: str) -> tuple[bool, int]:  # type: ignore[no-untyped-def]
    """A camera reads the plate now: whether the read was a hotlist hit, and how many alerts it raised."""
    body = {
        "plate": read_plate,
        "captured_at": datetime.now(UTC).isoformat(),
        "latitude": 37.33,
        "longitude": -121.88,
        "confidence": 0.91,
    }
    response = await system.gateway.post("/v1/reads", json=body, headers=system.camera)
    assert response.status_code == 202, response.text
    read_id = response.json()["read_ids"][0]
    hit = None
    for _ in range(100):
        got = await fetch(system, "SELECT hotlist_hit FROM records.reads WHERE read_id = $1::uuid", read_id)
        if got:
            hit = bool(got[0]["hotlist_hit"])
            break
        await asyncio.sleep(0.1)
    assert hit is not None, "the read was never stored"
    alerts = 0
    for _ in range(20 if hit else 5):
        alerts = len(await fetch(system, "SELECT 1 FROM records.alerts WHERE read_id = $1::uuid", read_id))
        if alerts:
            break
        await asyncio.sleep(0.1)
    return hit, alerts


def reconciles(outcome: str) -> float:
    return REGISTRY.get_sample_value("alpr_partner_list_reconciles_total", {"outcome": outcome}) or 0.0


class TestPartnerListWithdrawal:
    async def test_a_revoked_agreements_list_stops_matching_and_the_withdrawal_is_recorded(
        self, system, partners
    ) -> None:
        setup = await partners.with_client()
        wanted = plate()
        await put_list(system, partners, setup, wanted)
        await partners.revoke(setup["agreement_id"])
        withdrawn = await system.runtime("records").partner_lists.reconcile()
        assert withdrawn is not None
        assert await live_plates(system, setup["ori"]) == set()
        assert await camera_read(system, wanted) == (False, 0)
        records = await fetch(
            system,
            "SELECT a.actor, a.payload FROM audit.access_records a JOIN records.hotlists h "
            "ON (a.payload::jsonb) -> 'query' ->> 'hotlist_id' = h.hotlist_id::text "
            "WHERE h.partner_ori = $1 AND a.event_type = 'hotlist_change' AND a.actor_sub = 'records-partner-lists'",
            setup["ori"],
        )
        assert len(records) == 1
        payload = json.loads(records[0]["payload"])
        assert json.loads(records[0]["actor"])["kind"] == "system"
        assert payload["details"]["agreement_id"] == setup["agreement_id"]
        assert payload["details"]["removed"] == 1

    async def test_the_revocation_notice_withdraws_the_list_without_waiting_for_the_timer(
        self, system, partners
    ) -> None:
        setup = await partners.with_client()
        await put_list(system, partners, setup, plate())
        await partners.revoke(setup["agreement_id"])
        for _ in range(100):
            if not await live_plates(system, setup["ori"]):
                break
            await asyncio.sleep(0.1)
        assert await live_plates(system, setup["ori"]) == set(), "the list outlived its agreement's revocation"

    async def test_a_list_stops_matching_once_the_agreement_no_longer_grants_hotlists_write(
        self, system, partners
    ) -> None:
        setup = await partners.with_client()
        wanted = plate()
        await put_list(system, partners, setup, wanted)
        narrowed = partners.terms(setup["ori"], id=setup["agreement_id"], scopes=["reads:search", "hotlists:read"])
        response = await system.gateway.post("/v1/admin/agreements", json=narrowed, headers=system.token("admin"))
        assert response.status_code == 202, response.text
        await partners.approve(response.json()["id"])
        await system.runtime("records").partner_lists.reconcile()
        assert await live_plates(system, setup["ori"]) == set()
        assert await camera_read(system, wanted) == (False, 0)

    async def test_narrowing_away_hotlists_write_sends_the_notice_too(self, system, partners) -> None:
        """Approving a version without `hotlists:write` withdraws the list at once, not at the next pass."""
        setup = await partners.with_client()
        await put_list(system, partners, setup, plate())
        narrowed = partners.terms(setup["ori"], id=setup["agreement_id"], scopes=["reads:search", "hotlists:read"])
        response = await system.gateway.post("/v1/admin/agreements", json=narrowed, headers=system.token("admin"))
        assert response.status_code == 202, response.text
        await partners.approve(response.json()["id"])
        for _ in range(100):
            if not await live_plates(system, setup["ori"]):
                break
            await asyncio.sleep(0.1)
        assert await live_plates(system, setup["ori"]) == set(), "the list outlived the narrowed agreement"

    async def test_a_list_under_an_agreement_in_force_is_kept_and_still_alerts(self, system, partners) -> None:
        setup = await partners.with_client()
        wanted = plate()
        await put_list(system, partners, setup, wanted)
        assert await system.runtime("records").partner_lists.reconcile() is not None
        assert await live_plates(system, setup["ori"]) == {wanted}
        hit, alerts = await camera_read(system, wanted)
        assert hit and alerts == 1

    async def test_lists_are_kept_while_sharing_does_not_answer(self, system, partners) -> None:
        setup = await partners.with_client()
        wanted = plate()
        await put_list(system, partners, setup, wanted)
        before = reconciles("sharing_unavailable")
        await system.stop_service("sharing")
        try:
            assert await system.runtime("records").partner_lists.reconcile() is None
        finally:
            await system.start_service("sharing")
        assert reconciles("sharing_unavailable") == before + 1
        assert await live_plates(system, setup["ori"]) == {wanted}

    async def test_a_put_under_a_new_agreement_in_force_fills_the_list_again(self, system, partners) -> None:
        setup = await partners.with_client()
        await put_list(system, partners, setup, plate())
        await partners.revoke(setup["agreement_id"])
        await system.runtime("records").partner_lists.reconcile()
        assert await live_plates(system, setup["ori"]) == set()
        response = await system.gateway.post(
            "/v1/admin/agreements", json=partners.terms(setup["ori"]), headers=system.token("admin")
        )
        assert response.status_code == 202, response.text
        renewed = (await partners.approve(response.json()["id"]))["agreement_id"]
        client = await partners.client(renewed)
        again = plate()
        await put_list(system, partners, {**setup, **client, "agreement_id": renewed}, again)
        await system.runtime("records").partner_lists.reconcile()
        assert await live_plates(system, setup["ori"]) == {again}
