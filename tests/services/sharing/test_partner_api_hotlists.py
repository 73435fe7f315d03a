"""Hotlist exchange with partners: ours go out with their refresh time, theirs lapse 24 h after refresh (C5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def plate() -> str:
    return "5" + uuid.uuid4().hex[:6].upper().replace("O", "0")


async def partner_entries(system, ori: str) -> dict[str, tuple[datetime, datetime]]:  # type: ignore[no-untyped-def]
    """What records holds for the partner: plate → (refreshed_at, expires_at), removed ones left out."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT e.plate, e.refreshed_at, e.expires_at FROM records.hotlist_entries e "
            "JOIN records.hotlists h ON h.hotlist_id = e.hotlist_id "
            "WHERE h.partner_ori = $1 AND e.removed_at IS NULL",
            ori,
        )
    finally:
        await conn.close()
    return {r["plate"]: (r["refreshed_at"], r["expires_at"]) for r in rows}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestPartnerHotlists:
    async def test_their_entries_expire_24_hours_after_their_last_refresh(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        now = datetime.now(UTC)
        fresh, old = plate(), plate()
        entries = [
            {"plate": fresh, "state": "CA", "refreshed_at": (now - timedelta(hours=23)).isoformat()},
            {"plate": old, "state": "CA", "refreshed_at": (now - timedelta(hours=25)).isoformat()},
        ]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": entries}, headers=bearer(token))
        assert response.status_code == 200, response.text
        held = await partner_entries(system, setup["ori"])
        refreshed_at, expires_at = held[fresh]
        assert expires_at - refreshed_at == timedelta(hours=24)
        assert expires_at > now
        assert old not in held or held[old][1] <= now, "an entry older than 24 hours is never live"

        again = [{"plate": fresh, "state": "CA"}]  # refreshed now
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": again}, headers=bearer(token))
        assert response.status_code == 200, response.text
        _, renewed = (await partner_entries(system, setup["ori"]))[fresh]
        assert renewed - now > timedelta(hours=23, minutes=59)

    async def test_pull_returns_our_shareable_entries_with_a_refresh_time_and_is_recorded(
        self, system, partners
    ) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        theirs = plate()
        put = await system.gateway.put(
            "/partner/v1/hotlists", json={"entries": [{"plate": theirs, "state": "CA"}]}, headers=bearer(token)
        )
        assert put.status_code == 200, put.text
        response = await system.gateway.get("/partner/v1/hotlists", headers=bearer(token))
        assert response.status_code == 200, response.text
        body = response.json()
        assert {"generated_at", "refreshed_at", "entries"} <= body.keys()
        assert theirs not in [e["plate"] for e in body["entries"]], "a partner's entries are never passed on"
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            ledger = await conn.fetchval(
                "SELECT count(*) FROM sharing.share_ledger WHERE agreement_id = $1 AND action = 'hotlists_read'",
                setup["agreement_id"],
            )
            audited = await conn.fetch(
                "SELECT event_type FROM audit.access_records "
                "WHERE payload::jsonb -> 'details' ->> 'agreement_id' = $1 ORDER BY seq",
                setup["agreement_id"],
            )
        finally:
            await conn.close()
        assert ledger == 1
        assert [r["event_type"] for r in audited] == ["hotlist_change", "partner_query"]

    async def test_without_the_scope_a_partner_can_neither_pull_nor_push(self, system, partners) -> None:
        setup = await partners.shared_client(scopes=["reads:search"])
        token = await partners.token(setup)
        pulled = await system.gateway.get("/partner/v1/hotlists", headers=bearer(token))
        pushed = await system.gateway.put(
            "/partner/v1/hotlists", json={"entries": [{"plate": plate()}]}, headers=bearer(token)
        )
        assert pulled.status_code == pushed.status_code == 403
        assert pulled.json()["error"]["code"] == pushed.json()["error"]["code"] == "scope_not_granted"
        assert await partner_entries(system, setup["ori"]) == {}

    async def test_an_entry_without_a_plate_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        response = await system.gateway.put(
            "/partner/v1/hotlists", json={"entries": [{"state": "CA"}]}, headers=bearer(token)
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_hotlist_entry"

    @pytest.mark.parametrize("wildcard", ["7*", "A*", "*7", "A?", "7-*", "A*B", "??A?"])
    async def test_a_wildcard_with_fewer_than_three_known_characters_is_refused(
        self, system, partners, wildcard
    ) -> None:
        # "7*" would match every plate that starts with a 7
        setup = await partners.shared_client()
        token = await partners.token(setup)
        entries = [{"plate": plate(), "state": "CA"}, {"plate": wildcard, "state": "CA"}]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": entries}, headers=bearer(token))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "wildcard_too_short" and error["details"]["index"] == 1
        assert wildcard.replace("-", "") not in await partner_entries(system, setup["ori"])

    async def test_a_wildcard_with_four_known_characters_is_kept(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        entries = [{"plate": "7ABC*", "state": "CA"}]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": entries}, headers=bearer(token))
        assert response.status_code == 200, response.text
        assert "7ABC*" in await partner_entries(system, setup["ori"])
