"""E4 at verification: a list gone stale or an entry removed since the alert was raised never confirms."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.services.gateway.test_alert_routes import listed_plate, raise_alert, unique
from tests.services.gateway.test_alert_verification_routes import check, verify, view_image, with_image

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def raised_then(system: Any, *statements: str) -> tuple[str, str]:
    """An alert raised from a fresh NCIC list, then the list and entry changed by `statements` ($1: the list)."""
    plate = unique()
    hotlist_id = await listed_plate(system, plate, source="ncic")
    alert_id = (await raise_alert(system, plate, **with_image()))["alert_id"]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for statement in statements:
            await conn.execute(statement, hotlist_id)
    finally:
        await conn.close()
    await view_image(system, alert_id)
    return plate, alert_id


class TestStandingAtVerification:
    async def test_a_list_still_fresh_and_listing_confirms(self, system: Any) -> None:
        plate, alert_id = await raised_then(system)
        verified = await verify(system, alert_id, check(plate))
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "confirmed"

    async def test_a_list_gone_stale_since_the_alert_gives_investigate_only(self, system: Any) -> None:
        plate, alert_id = await raised_then(
            system, "UPDATE records.hotlists SET refreshed_at = now() - interval '3 days' WHERE hotlist_id = $1::uuid"
        )
        verified = await verify(system, alert_id, check(plate))
        assert verified.status_code == 200, verified.text
        assert verified.json()["status"] == "investigate_only"
        assert verified.json()["verifications"][-1]["reasons"] == ["stale_list"]

    async def test_an_entry_removed_since_the_alert_gives_investigate_only(self, system: Any) -> None:
        plate, alert_id = await raised_then(
            system, "UPDATE records.hotlist_entries SET removed_at = now() WHERE hotlist_id = $1::uuid"
        )
        verified = await verify(system, alert_id, check(plate))
        assert verified.json()["status"] == "investigate_only"
        assert verified.json()["verifications"][-1]["reasons"] == ["entry_removed"]
        disposed = await system.gateway.post(
            f"/v1/alerts/{alert_id}/disposition", json={"code": "confirmed"}, headers=system.token("officer")
        )
        assert disposed.status_code == 409

    async def test_an_entry_forgotten_after_removal_gives_investigate_only(self, system: Any) -> None:
        plate, alert_id = await raised_then(system, "DELETE FROM records.hotlist_entries WHERE hotlist_id = $1::uuid")
        verified = await verify(system, alert_id, check(plate))
        assert verified.json()["verifications"][-1]["reasons"] == ["entry_removed"]

    async def test_an_entry_expired_since_the_alert_gives_investigate_only(self, system: Any) -> None:
        plate, alert_id = await raised_then(
            system, "UPDATE records.hotlist_entries SET expires_at = now() WHERE hotlist_id = $1::uuid"
        )
        verified = await verify(system, alert_id, check(plate))
        assert verified.json()["verifications"][-1]["reasons"] == ["entry_expired"]
