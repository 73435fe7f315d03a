"""A5: the gateway counts every kind of access it answers, and the daily check finds each in the log."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from services.gateway.handlers_tally import TALLIED_TYPES
from tests.services.gateway.test_alert_routes import listed_plate, raise_alert, unique
from tests.services.gateway.test_hold_views import REVIEW, case_purpose, two_holds
from tests.utils import image_samples

pytestmark = pytest.mark.asyncio(loop_scope="session")

READ_PURPOSE = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on 11/27 near Story Rd",
}


async def completeness(system: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    response = await system.gateway.get(f"/v1/audit/completeness/{today}", headers=system.token("auditor"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def every_kind_of_access(system: Any) -> None:
    """One access of each kind the gateway answers, beyond searches and read views (tested elsewhere)."""
    officer, plate = system.token("officer"), unique()
    await listed_plate(system, plate)
    raised = await raise_alert(
        system, plate, images=[{"kind": "plate", "data_b64": base64.b64encode(image_samples.jpeg()).decode()}]
    )
    alert = f"/v1/alerts/{raised['alert_id']}"
    assert (await system.gateway.get(alert, headers=officer)).status_code == 200
    assert (await system.gateway.get(f"{alert}/image", headers=officer)).status_code == 200
    for _ in range(100):  # the read is stored by records shortly after the alert
        image = await system.gateway.get(f"/v1/reads/{raised['read_id']}/image", params=READ_PURPOSE, headers=officer)
        if image.status_code != 404:
            break
        await asyncio.sleep(0.05)
    assert image.status_code == 200, image.text
    check = {"plate_seen": plate, "state_seen": "CA", "vehicle_matches": True}
    assert (await system.gateway.post(f"{alert}/verification", json=check, headers=officer)).status_code == 200
    mine, _ = await two_holds(system)
    hold = await system.gateway.get("/v1/holds", params=case_purpose(mine["case_number"]), headers=officer)
    assert hold.status_code == 200
    review = await system.gateway.get(f"/v1/holds/{mine['hold_id']}", params=REVIEW, headers=system.token("supervisor"))
    assert review.status_code == 200
    export = await system.gateway.get(
        "/v1/audit/export", params={"event_type": "hold_view", "format": "json"}, headers=system.token("auditor")
    )
    assert export.status_code == 200


class TestCompleteness:
    async def test_the_gateway_counts_every_kind_of_access(self) -> None:
        kinds = {"search", "read_view", "image_view", "export", "alert_view", "hold_view", "partner_query"}
        assert kinds <= set(TALLIED_TYPES)

    async def test_image_views_exports_alert_and_hold_views_count_on_both_sides(self, system: Any) -> None:
        before = await completeness(system)
        await every_kind_of_access(system)
        after = await completeness(system)
        expected = {"alert_view": 1, "image_view": 2, "alert_verification": 1, "hold_view": 2, "export": 1}
        for kind, n in expected.items():
            assert after["gateway"].get(kind, 0) - before["gateway"].get(kind, 0) == n, kind
            assert after["audit_log"].get(kind, 0) - before["audit_log"].get(kind, 0) == n, kind
        # nothing counted that was not recorded, nothing recorded that was not counted
        assert after["differences"] == before["differences"]

    async def test_an_export_is_a_record_of_its_own_kind(self, system: Any) -> None:
        before = await completeness(system)
        export = await system.gateway.get("/v1/audit/export", params={"format": "csv"}, headers=system.token("auditor"))
        assert export.status_code == 200
        after = await completeness(system)
        assert after["audit_log"].get("export", 0) == before["audit_log"].get("export", 0) + 1
        # the completeness check the test itself asked for is an auditor's access, counted too
        assert after["gateway"]["audit_access"] - before["gateway"]["audit_access"] == 1
