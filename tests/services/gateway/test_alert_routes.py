"""Alert routes end to end: live delivery over SSE, detail, verification, disposition, staleness, audit."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from libs.common.streams import alerts_subject
from tests.utils import image_samples

pytestmark = pytest.mark.asyncio(loop_scope="session")


CASE = "SJ-2026-000777"
# what every view of an alert from a manual entry is recorded under: the entry's own purpose
ENTRY_PURPOSE = {"use": "stolen_or_wanted_vehicle", "case_number": CASE, "reason": "stolen vehicle"}


def unique(prefix: str = "7") -> str:
    return prefix + uuid.uuid4().hex[:6].upper()


async def listed_plate(system: Any, plate: str, *, state: str = "CA", source: str = "manual") -> str:
    """A new list holding the plate; returns the list id."""
    admin = system.token("admin")
    created = await system.gateway.post(
        "/v1/hotlists", json={"name": unique("alerts "), "source": source}, headers=admin
    )
    hotlist_id = created.json()["hotlist_id"]
    if source == "manual":
        body = {
            "plate": plate,
            "state": state,
            "make": "TOYT",
            "colour": "WHI",
            "reason": "stolen vehicle",
            "case_number": CASE,
        }
        response = await system.gateway.post(f"/v1/hotlists/{hotlist_id}/entries", json=body, headers=admin)
    else:
        day = datetime.now(UTC).strftime("%Y%m%d")
        line = f"{('V' + plate).ljust(10, '0')[:10]}CA0430000{day}{plate:<10}{state}2026PC2009TOYTCAM4DWHI\n"
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist_id}/imports",
            content=line.encode(),
            params={"time_zone": "UTC"},
            headers={**admin, "content-type": "text/plain"},
        )
    assert response.status_code in (200, 201), response.text
    return str(hotlist_id)


async def raise_alert(system: Any, plate: str, state: str = "CA", **extra: Any) -> dict[str, Any]:
    """Post a read from the camera and wait for the alert it raises to be published."""
    body = {"plate": plate, "state": state, "captured_at": datetime.now(UTC).isoformat(), "confidence": 0.8, **extra}
    posted = await system.gateway.post("/v1/reads", json=body, headers=system.camera)
    assert posted.status_code == 202, posted.text
    read_id = posted.json()["read_ids"][0]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(200):
            row = await conn.fetchrow(
                "SELECT alert_id::text FROM records.alerts WHERE read_id = $1::uuid AND published_at IS NOT NULL",
                read_id,
            )
            if row:
                return {"alert_id": row["alert_id"], "read_id": read_id}
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("no alert was raised")


# A recorded change answers 503 with one of these when its record was not confirmed in time (the audit writer
# behind on a loaded machine) or records did not answer in time: nothing was changed, and a client tries again.
NOTHING_CHANGED = ("audit_unavailable", "service_timeout")


async def changed(system: Any, url: str, body: dict[str, Any], role: str = "officer") -> Any:
    """POST a recorded change to an alert as a client would: again after a 503 that says nothing changed."""
    for _ in range(3):
        answer = await system.gateway.post(url, json=body, headers=system.token(role))
        if answer.status_code != 503 or answer.json()["error"]["code"] not in NOTHING_CHANGED:
            return answer
    return answer


async def audit_rows(system: Any, event_type: str, alert_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT event_id, actor, payload FROM audit.access_records WHERE event_type = $1 "
            "AND (payload::jsonb) -> 'result_ids' ? $2 ORDER BY seq",
            event_type,
            alert_id,
        )
    finally:
        await conn.close()
    return [{"event_id": r["event_id"], "actor": json.loads(r["actor"]), **json.loads(r["payload"])} for r in rows]


async def last_alert_seq(system: Any) -> int:
    info = await system.runtime("gateway").bus.js.stream_info("ALERTS")
    return int(info.state.last_seq)


def sse_events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields.get("event") == "alert":
            events.append({"id": int(fields["id"]), **json.loads(fields["data"])})
    return events


class TestStream:
    async def test_officer_receives_the_alert_and_the_delivery_is_audited(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate)
        before = await last_alert_seq(system)
        raised = await raise_alert(system, plate)
        response = await asyncio.wait_for(
            system.gateway.get(
                "/v1/alerts/stream",
                params={"max_events": 1, "max_seconds": 10},
                headers={**system.token("officer"), "Last-Event-ID": str(before)},
            ),
            timeout=20,
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        [event] = sse_events(response.text)
        assert event["alert_id"] == raised["alert_id"] and event["entry"]["plate"] == plate
        assert event["id"] > before and event["images"] == []
        [record] = await audit_rows(system, "alert_view", raised["alert_id"])
        assert record["actor"]["sub"] == "dev-officer" and record["details"]["route"] == "stream"
        assert record["purpose"] == ENTRY_PURPOSE and record["details"]["action"] == "view"

    async def test_a_message_on_alerts_that_is_no_alert_is_skipped(self, system: Any) -> None:
        """Poison on ALERTS would end every stream, and every resume from before it, forever."""
        plate = unique()
        await listed_plate(system, plate)
        before = await last_alert_seq(system)
        await system.runtime("gateway").bus.js.publish(alerts_subject("CA0430000"), b"no alert \x00 at all")
        raised = await raise_alert(system, plate)
        response = await asyncio.wait_for(
            system.gateway.get(
                "/v1/alerts/stream",
                params={"max_events": 1, "max_seconds": 10},
                headers={**system.token("officer"), "Last-Event-ID": str(before)},
            ),
            timeout=20,
        )
        [event] = sse_events(response.text)
        assert event["alert_id"] == raised["alert_id"]

    async def test_stream_ends_after_its_time_without_alerts(self, system: Any) -> None:
        response = await asyncio.wait_for(
            system.gateway.get("/v1/alerts/stream", params={"max_seconds": 0.5}, headers=system.token("officer")),
            timeout=10,
        )
        assert response.status_code == 200 and sse_events(response.text) == []

    @pytest.mark.parametrize("role", ["auditor", "analyst", "admin"])
    async def test_people_without_the_right_get_403_and_no_events(self, system: Any, role: str) -> None:
        response = await asyncio.wait_for(
            system.gateway.get("/v1/alerts/stream", params={"max_seconds": 1}, headers=system.token(role)),
            timeout=10,
        )
        assert response.status_code == 403 and "event: alert" not in response.text

    async def test_anonymous_caller_gets_401(self, system: Any) -> None:
        response = await system.gateway.get("/v1/alerts/stream", params={"max_seconds": 1})
        assert response.status_code == 401


class TestStreamEnds:
    async def test_stream_ends_when_the_token_expires(self, system: Any) -> None:
        started = asyncio.get_running_loop().time()
        response = await asyncio.wait_for(
            system.gateway.get(
                "/v1/alerts/stream", params={"max_seconds": 60}, headers=system.token("officer", ttl_s=2)
            ),
            timeout=20,
        )
        assert response.status_code == 200
        assert asyncio.get_running_loop().time() - started < 15

    async def test_an_officer_deactivated_mid_stream_gets_no_more_alerts(self, system: Any) -> None:
        sub = f"officer-{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            await conn.execute(
                "INSERT INTO gateway.persons (sub, name, badge, agency, unit, roles, user_class, status, "
                "training_expires_at, last_active_at, approved_by) SELECT $1, 'Temp Officer', '1777', agency, unit, "
                "roles, user_class, 'active', training_expires_at, NULL, approved_by FROM gateway.persons "
                "WHERE sub = 'dev-officer'",
                sub,
            )
            plate = unique()
            await listed_plate(system, plate)
            before = await last_alert_seq(system)
            stream = asyncio.create_task(
                system.gateway.get(
                    "/v1/alerts/stream",
                    params={"max_seconds": 15},
                    headers={**system.token("officer", sub=sub), "Last-Event-ID": str(before)},
                )
            )
            for _ in range(200):  # the gateway marks the person active once it has admitted the request
                if await conn.fetchval("SELECT last_active_at FROM gateway.persons WHERE sub = $1", sub):
                    break
                await asyncio.sleep(0.05)
            await conn.execute("UPDATE gateway.persons SET status = 'deactivated' WHERE sub = $1", sub)
            raised = await raise_alert(system, plate)
            response = await asyncio.wait_for(stream, timeout=30)
        finally:
            await conn.close()
        assert response.status_code == 200
        assert sse_events(response.text) == [] and "event: error\ndata: forbidden" in response.text
        assert await audit_rows(system, "alert_view", raised["alert_id"]) == []


class TestDetail:
    async def test_detail_carries_what_e1_lists_and_is_audited(self, system: Any) -> None:
        plate = unique()
        hotlist_id = await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        response = await system.gateway.get(f"/v1/alerts/{raised['alert_id']}", headers=system.token("officer"))
        assert response.status_code == 200, response.text
        alert = response.json()
        assert alert["status"] == "pending" and alert["disposition"] is None
        assert (alert["match_type"], alert["entry"]["plate"], alert["entry"]["state"]) == ("exact", plate, "CA")
        assert alert["entry"]["hotlist_id"] == hotlist_id and alert["entry"]["reason"] == "stolen vehicle"
        assert alert["confidence"] == 0.8 and alert["read_id"] == raised["read_id"]
        assert alert["entry"]["purpose"] == ENTRY_PURPOSE
        [record] = await audit_rows(system, "alert_view", raised["alert_id"])
        assert record["details"]["route"] == "detail" and record["query"]["plate"] == plate
        assert record["purpose"] == ENTRY_PURPOSE
        assert record["details"]["entry_id"] == alert["entry"]["entry_id"]

    async def test_list_shows_recent_alerts_to_officers_only(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        listed = await system.gateway.get("/v1/alerts", params={"status": "pending"}, headers=system.token("officer"))
        assert raised["alert_id"] in [a["alert_id"] for a in listed.json()["alerts"]]
        [record] = [
            r for r in await audit_rows(system, "alert_view", raised["alert_id"]) if r["details"]["route"] == "list"
        ]
        assert record["purpose"] == ENTRY_PURPOSE and record["result_ids"] == [raised["alert_id"]]
        assert (await system.gateway.get("/v1/alerts", headers=system.token("analyst"))).status_code == 403


class TestImage:
    async def test_the_plate_image_is_served_for_the_visual_check_and_audited(self, system: Any) -> None:
        plate, jpeg = unique(), image_samples.jpeg()
        await listed_plate(system, plate)
        image = {"kind": "plate", "data_b64": base64.b64encode(jpeg).decode()}
        raised = await raise_alert(system, plate, images=[image])
        alert = (await system.gateway.get(f"/v1/alerts/{raised['alert_id']}", headers=system.token("officer"))).json()
        [ref] = alert["images"]
        assert ref == {"kind": "plate", "href": f"/v1/alerts/{raised['alert_id']}/image"}
        response = await system.gateway.get(ref["href"], headers=system.token("officer"))
        assert response.status_code == 200 and response.content == jpeg
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "default-src 'none'"
        assert response.headers["content-disposition"] == f"inline; filename={raised['read_id']}.jpg"
        routes = [r["details"]["route"] for r in await audit_rows(system, "alert_view", raised["alert_id"])]
        assert routes == ["detail"]
        [viewed] = await audit_rows(system, "image_view", raised["alert_id"])
        assert viewed["details"]["route"] == "image" and viewed["query"]["read_id"] == raised["read_id"]
        assert viewed["purpose"] == ENTRY_PURPOSE
        denied = await system.gateway.get(ref["href"], headers=system.token("analyst"))
        assert denied.status_code == 403


class TestVerification:
    async def test_a_read_without_an_image_is_never_confirmed(self, system: Any) -> None:
        """E2: no image, nothing to compare the characters with: investigate only, however well all else agrees."""
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        url = f"/v1/alerts/{raised['alert_id']}"
        assert (await system.gateway.get(f"{url}/image", headers=system.token("officer"))).status_code == 404
        check = {"plate_seen": plate, "state_seen": "CA", "vehicle_matches": True, "other_source_checked": True}
        verified = await system.gateway.post(f"{url}/verification", json=check, headers=system.token("officer"))
        assert verified.status_code == 200, verified.text
        body = verified.json()
        assert body["status"] == "investigate_only" and body["images"] == []
        assert body["verifications"][-1]["reasons"] == ["no_image"]
        assert body["verifications"][-1]["image_view_id"] is None
        refused = await system.gateway.post(
            f"{url}/disposition", json={"code": "confirmed"}, headers=system.token("officer")
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "confirmation_not_verified"
        closed = await system.gateway.post(
            f"{url}/disposition", json={"code": "not_located"}, headers=system.token("officer")
        )
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert closed.json()["disposed_by"] == "dev-officer"
        again = await system.gateway.post(f"{url}/verification", json=check, headers=system.token("officer"))
        assert again.status_code == 409 and again.json()["error"]["code"] == "alert_closed"
        records = await audit_rows(system, "alert_verification", raised["alert_id"])
        assert [r["details"]["action"] for r in records] == ["verification", "disposition"]
        assert [r["purpose"] for r in records] == [ENTRY_PURPOSE, ENTRY_PURPOSE]
        assert records[0]["details"]["status"] == "investigate_only"

    async def test_state_mismatch_cannot_be_confirmed(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate, state="CA")
        raised = await raise_alert(system, plate, state="NV")
        url = f"/v1/alerts/{raised['alert_id']}"
        check = {"plate_seen": plate, "state_seen": "NV", "vehicle_matches": True}
        verified = await changed(system, f"{url}/verification", check)
        assert verified.status_code == 200, verified.text
        body = verified.json()
        assert body["state_mismatch"] is True and body["status"] == "investigate_only"
        assert body["verifications"][-1]["state_agrees"] is False
        refused = await changed(system, f"{url}/disposition", {"code": "confirmed"})
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "confirmation_not_verified"
        closed = await changed(system, f"{url}/disposition", {"code": "wrong_state"})
        assert closed.json()["disposition"] == "wrong_state", closed.text

    async def test_misread_characters_force_investigate_only_and_count_as_misreads(self, system: Any) -> None:
        plate = unique("8")
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        url = f"/v1/alerts/{raised['alert_id']}"
        seen = "B" + plate[1:]
        check = {"plate_seen": seen, "state_seen": "CA", "vehicle_matches": True}
        verified = await system.gateway.post(f"{url}/verification", json=check, headers=system.token("officer"))
        assert verified.json()["status"] == "investigate_only"
        assert verified.json()["verifications"][-1]["character_mismatches"] == [0]
        before = (await system.gateway.get("/v1/alerts/figures", headers=system.token("officer"))).json()["misreads"]
        await system.gateway.post(f"{url}/disposition", json={"code": "misread"}, headers=system.token("officer"))
        figures = (await system.gateway.get("/v1/alerts/figures", headers=system.token("officer"))).json()
        assert figures["misreads"] == before + 1 and figures["by_match_type"]["exact"] >= 1

    async def test_only_officers_verify(self, system: Any) -> None:
        plate = unique()
        await listed_plate(system, plate)
        raised = await raise_alert(system, plate)
        check = {"plate_seen": plate, "state_seen": "CA", "vehicle_matches": True}
        response = await system.gateway.post(
            f"/v1/alerts/{raised['alert_id']}/verification", json=check, headers=system.token("supervisor")
        )
        assert response.status_code == 403
        assert await audit_rows(system, "alert_verification", raised["alert_id"]) == []


class TestStaleList:
    async def test_alerts_of_a_list_not_refreshed_in_24_hours_say_do_not_act(self, system: Any) -> None:
        plate = unique()
        hotlist_id = await listed_plate(system, plate, source="ncic")
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:  # the feed stopped: its last refresh was 25 hours ago
            await conn.execute(
                "UPDATE records.hotlists SET refreshed_at = now() - interval '25 hours' WHERE hotlist_id = $1::uuid",
                hotlist_id,
            )
        finally:
            await conn.close()
        summary = await system.gateway.get(f"/v1/hotlists/{hotlist_id}", headers=system.token("officer"))
        assert summary.json()["stale"] is True
        raised = await raise_alert(system, plate)
        alert = (await system.gateway.get(f"/v1/alerts/{raised['alert_id']}", headers=system.token("officer"))).json()
        assert alert["stale"] is True and alert["notice"] == "stale — do not act"
        # an NCIC entry's purpose: its record type's use (V: stolen vehicle), its NIC as the case
        nic = ("V" + plate).ljust(10, "0")[:10]
        assert alert["entry"]["purpose"]["use"] == "stolen_or_wanted_vehicle"
        assert alert["entry"]["purpose"]["case_number"] == nic
        [record] = await audit_rows(system, "alert_view", raised["alert_id"])
        assert record["purpose"]["case_number"] == nic
        check = {"plate_seen": plate, "state_seen": "CA", "vehicle_matches": True}
        verified = await system.gateway.post(
            f"/v1/alerts/{raised['alert_id']}/verification", json=check, headers=system.token("officer")
        )
        assert verified.json()["status"] == "investigate_only"
