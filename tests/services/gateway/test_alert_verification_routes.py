"""E2 through the gateway: no confirmation without a recorded look at the image, look-alikes and investigate-only
alerts never confirmed, a supervisor's recorded reopening, and one alert per read per listed plate."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import asyncpg
import pytest

from tests.services.gateway.test_alert_routes import ENTRY_PURPOSE, audit_rows, listed_plate, raise_alert, unique
from tests.utils import image_samples

pytestmark = pytest.mark.asyncio(loop_scope="session")

REASON = "Officer checked the wrong camera's image; the plate crop must be compared again"


def with_image() -> dict[str, Any]:
    return {"images": [{"kind": "plate", "data_b64": base64.b64encode(image_samples.jpeg()).decode()}]}


def check(plate: str, state: str = "CA", **fields: Any) -> dict[str, Any]:
    return {"plate_seen": plate, "state_seen": state, "vehicle_matches": True, **fields}


async def view_image(system: Any, alert_id: str, role: str = "officer") -> str:
    """Open the alert's image as the officer; returns the view id the gateway names."""
    response = await system.gateway.get(f"/v1/alerts/{alert_id}/image", headers=system.token(role))
    assert response.status_code == 200, response.text
    return str(response.headers["x-image-view-id"])


async def verify(system: Any, alert_id: str, body: dict[str, Any]) -> Any:
    return await system.gateway.post(f"/v1/alerts/{alert_id}/verification", json=body, headers=system.token("officer"))


async def reopen(system: Any, alert_id: str, body: dict[str, Any], role: str = "supervisor") -> Any:
    return await system.gateway.post(f"/v1/alerts/{alert_id}/reopen", json=body, headers=system.token(role))


class TestImageFirst:
    async def test_a_check_before_the_image_is_opened_is_refused_then_confirms_naming_the_view(
        self, system: Any
    ) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate, **with_image())
        alert_id = raised["alert_id"]
        refused = await verify(system, alert_id, check(plate))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "image_not_viewed"
        assert await audit_rows(system, "alert_verification", alert_id) == []
        view_id = await view_image(system, alert_id)
        [viewed] = await audit_rows(system, "image_view", alert_id)
        assert viewed["event_id"] == view_id and viewed["actor"]["sub"] == "dev-officer"
        confirmed = await verify(system, alert_id, check(plate, other_source_checked=True))
        assert confirmed.status_code == 200, confirmed.text
        body = confirmed.json()
        assert body["status"] == "confirmed"
        assert body["verifications"][-1]["image_view_id"] == view_id and body["verifications"][-1]["reasons"] == []
        [record] = await audit_rows(system, "alert_verification", alert_id)
        assert record["details"]["image_view_id"] == view_id and record["purpose"] == ENTRY_PURPOSE
        closed = await system.gateway.post(
            f"/v1/alerts/{alert_id}/disposition", json={"code": "confirmed"}, headers=system.token("officer")
        )
        assert closed.status_code == 200 and closed.json()["disposition"] == "confirmed"

    async def test_another_officers_look_does_not_count(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate, **with_image())
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:  # a second officer, as the registry holds dev-officer
            sub = f"officer-{uuid.uuid4().hex[:8]}"
            await conn.execute(
                "INSERT INTO gateway.persons (sub, name, badge, agency, unit, roles, user_class, status, "
                "training_expires_at, last_active_at, approved_by) SELECT $1, 'Other Officer', '1778', agency, "
                "unit, roles, user_class, 'active', training_expires_at, NULL, approved_by FROM gateway.persons "
                "WHERE sub = 'dev-officer'",
                sub,
            )
        finally:
            await conn.close()
        other = system.token("officer", sub=sub)
        viewed = await system.gateway.get(f"/v1/alerts/{raised['alert_id']}/image", headers=other)
        assert viewed.status_code == 200
        refused = await verify(system, raised["alert_id"], check(plate))
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "image_not_viewed"


class TestNeverConfirmed:
    async def test_a_lookalike_match_stays_investigate_only_when_the_officer_types_the_listed_plate(
        self, system: Any
    ) -> None:
        """The camera read 8A8C..., the list holds 8ABC...: typing the list's plate must not confirm it."""
        core = uuid.uuid4().hex[:4].upper().replace("B", "C").replace("8", "9")
        listed, read = f"8AB{core}", f"8A8{core}"
        await listed_plate(system, listed)
        raised = await raise_alert(system, read, **with_image())
        await view_image(system, raised["alert_id"])
        verified = await verify(system, raised["alert_id"], check(listed))
        assert verified.status_code == 200, verified.text
        body = verified.json()
        assert body["match_type"] == "lookalike" and body["status"] == "investigate_only"
        assert body["verifications"][-1]["reasons"] == ["lookalike_match"]
        refused = await system.gateway.post(
            f"/v1/alerts/{raised['alert_id']}/disposition", json={"code": "confirmed"}, headers=system.token("officer")
        )
        assert refused.status_code == 409

    async def test_investigate_only_is_sticky_until_a_supervisor_reopens_with_a_reason(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate, state="CA")
        raised = await raise_alert(system, plate, state="NV", **with_image())
        alert_id = raised["alert_id"]
        await view_image(system, alert_id)
        first = await verify(system, alert_id, check(plate, state="NV"))
        assert first.json()["status"] == "investigate_only"
        again = await verify(system, alert_id, check(plate, state="CA"))
        assert again.status_code == 200 and again.json()["status"] == "investigate_only"
        assert again.json()["verifications"][-1]["reasons"] == ["already_investigate_only"]

        denied = await reopen(system, alert_id, {"reason": REASON}, role="officer")
        assert denied.status_code == 403
        short = await reopen(system, alert_id, {"reason": "mistake"})
        assert short.status_code == 422 and short.json()["error"]["code"] == "reason_too_short"
        assert [r["details"]["action"] for r in await audit_rows(system, "alert_verification", alert_id)] == [
            "verification",
            "verification",
        ]
        reopened = await reopen(system, alert_id, {"reason": REASON})
        assert reopened.status_code == 200, reopened.text
        assert reopened.json()["status"] == "pending"
        [reopening] = reopened.json()["reopenings"]
        assert (reopening["supervisor_sub"], reopening["reason"]) == ("dev-supervisor", REASON)
        record = (await audit_rows(system, "alert_verification", alert_id))[-1]
        assert record["details"]["action"] == "reopen" and record["details"]["reason"] == REASON
        assert record["actor"]["sub"] == "dev-supervisor" and record["details"]["status"] == "pending"
        assert record["purpose"] == ENTRY_PURPOSE
        twice = await reopen(system, alert_id, {"reason": REASON})
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "alert_not_investigate_only"

        # the look before the reopening does not count: the officer compares the image again
        stale_look = await verify(system, alert_id, check(plate))
        assert stale_look.status_code == 409 and stale_look.json()["error"]["code"] == "image_not_viewed"
        view_id = await view_image(system, alert_id)
        confirmed = await verify(system, alert_id, check(plate))
        assert confirmed.json()["status"] == "confirmed"
        assert confirmed.json()["verifications"][-1]["image_view_id"] == view_id

    async def test_reopen_refuses_unknown_fields_naming_them(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        response = await reopen(system, raised["alert_id"], {"reason": REASON, "status": "confirmed"})
        assert response.status_code == 422 and response.json()["error"]["fields"] == ["body.status"]


class TestUnknownFields:
    async def test_a_verification_with_an_unknown_field_is_refused_naming_it(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        response = await verify(system, raised["alert_id"], check(plate, outcome="confirmed"))
        assert response.status_code == 422 and response.json()["error"]["fields"] == ["body.outcome"]
        assert await audit_rows(system, "alert_verification", raised["alert_id"]) == []


class TestOneAlertPerPlate:
    async def test_a_plate_on_two_lists_raises_one_alert_listing_both_viewed_under_each_purpose(
        self, system: Any
    ) -> None:
        plate = unique()
        first = await listed_plate(system, plate)
        second = await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            n = await conn.fetchval("SELECT count(*) FROM records.alerts WHERE read_id = $1::uuid", raised["read_id"])
        finally:
            await conn.close()
        assert n == 1
        response = await system.gateway.get(f"/v1/alerts/{raised['alert_id']}", headers=system.token("officer"))
        alert = response.json()
        assert [e["hotlist_id"] for e in alert["entries"]] == [first, second]
        assert alert["entry"] == alert["entries"][0]  # equal priority: the earlier entry is the primary
        records = await audit_rows(system, "alert_view", raised["alert_id"])
        assert sorted(r["details"]["hotlist_id"] for r in records) == sorted([first, second])
        assert {r["details"]["entry_id"] for r in records} == {e["entry_id"] for e in alert["entries"]}


class TestWhoReopens:
    @pytest.mark.parametrize("role", ["officer", "analyst", "admin", "auditor", "custodian"])
    async def test_only_a_supervisor_reopens(self, system: Any, role: str) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        await verify(system, raised["alert_id"], check(plate))  # no image: investigate_only
        refused = await reopen(system, raised["alert_id"], {"reason": REASON}, role=role)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        alert = await system.gateway.get(f"/v1/alerts/{raised['alert_id']}", headers=system.token("officer"))
        assert alert.json()["status"] == "investigate_only" and alert.json()["reopenings"] == []
        anonymous = await system.gateway.post(f"/v1/alerts/{raised['alert_id']}/reopen", json={"reason": REASON})
        assert anonymous.status_code == 401
