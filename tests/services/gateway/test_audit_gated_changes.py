"""No change without its access record: with the audit service stopped, a change answers 503 and is not made.

The six changes the hostile drill found committed without a record: a hold, a hotlist entry, an alert
disposition, a camera registration, a partner's hotlist and an agreement proposal. With audit running
each is made and its record says it was written before the commit.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.services.gateway.test_alert_routes import listed_plate, raise_alert
from tests.services.sharing.conftest import PartnerSetup
from tests.utils.corrections import image_view, read_with_image

pytestmark = pytest.mark.asyncio(loop_scope="session")

Prepared = dict[str, Any]


def unique_plate() -> str:
    return "8" + uuid.uuid4().hex[:6].upper().replace("O", "0")


@dataclass(frozen=True)
class Probe:
    """One state-changing route: what it needs first, the request, what it stored, and its record."""

    event_type: str
    prepare: Callable[[Any], Awaitable[Prepared]]
    send: Callable[[Any, Prepared], Awaitable[httpx.Response]]
    stored: str  # SQL counting what the change left, with $1 = prepared["key"]
    record: Callable[[Prepared, dict[str, Any]], dict[str, Any]]  # what its access record contains
    # the route asks the audit log before it tries the change (a correction checks the image view it names):
    # with audit stopped it refuses before any record is sent, so no "not made" record follows
    asks_audit_first: bool = False


async def _hold_prepare(system: Any) -> Prepared:
    return {"key": f"SJ-2026-{uuid.uuid4().int % 10**6:06d}"}


async def _hold_send(system: Any, p: Prepared) -> httpx.Response:
    body = {
        "use": "wanted_suspect",
        "case_number": p["key"],
        "justification": "Vehicle seen leaving two armed robberies on Story Road; owner is a named suspect",
        "review_date": (date.today() + timedelta(days=60)).isoformat(),
        "plate": unique_plate(),
        "since": (datetime.now(UTC) - timedelta(days=5)).isoformat(),
        "until": datetime.now(UTC).isoformat(),
    }
    return await system.gateway.post("/v1/holds", json=body, headers=system.token("officer"))


async def _entry_prepare(system: Any) -> Prepared:
    admin = system.token("admin")
    created = await system.gateway.post(
        "/v1/hotlists", json={"name": f"gated {uuid.uuid4().hex[:8]}", "source": "manual"}, headers=admin
    )
    assert created.status_code == 201, created.text
    return {"hotlist_id": created.json()["hotlist_id"], "key": unique_plate()}


async def _entry_send(system: Any, p: Prepared) -> httpx.Response:
    body = {"plate": p["key"], "state": "CA", "reason": "Stolen at knifepoint on Story Rd"}
    return await system.gateway.post(
        f"/v1/hotlists/{p['hotlist_id']}/entries", json=body, headers=system.token("admin")
    )


async def _disposition_prepare(system: Any) -> Prepared:
    plate = unique_plate()
    await listed_plate(system, plate)
    alert = await raise_alert(system, plate)
    return {"key": alert["alert_id"]}


async def _disposition_send(system: Any, p: Prepared) -> httpx.Response:
    return await system.gateway.post(
        f"/v1/alerts/{p['key']}/disposition", json={"code": "misread"}, headers=system.token("officer")
    )


async def _camera_prepare(system: Any) -> Prepared:
    return {"key": f"gated-{uuid.uuid4().hex[:8]}"}


async def _camera_send(system: Any, p: Prepared) -> httpx.Response:
    body = {"camera_id": p["key"], "vendor": "openalpr", "name": "Gated"}
    return await system.gateway.post("/v1/admin/cameras", json=body, headers=system.token("admin"))


async def _partner_list_prepare(system: Any) -> Prepared:
    partners = PartnerSetup(system)
    setup = await partners.with_client()
    return {"key": setup["ori"], "agreement_id": setup["agreement_id"], "token": await partners.token(setup)}


async def _partner_list_send(system: Any, p: Prepared) -> httpx.Response:
    entries = [{"plate": unique_plate(), "state": "CA"}]
    return await system.gateway.put(
        "/partner/v1/hotlists", json={"entries": entries}, headers={"Authorization": f"Bearer {p['token']}"}
    )


async def _proposal_prepare(system: Any) -> Prepared:
    return {"key": await PartnerSetup(system).partner()}


async def _proposal_send(system: Any, p: Prepared) -> httpx.Response:
    terms = PartnerSetup(system).terms(p["key"])
    return await system.gateway.post("/v1/admin/agreements", json=terms, headers=system.token("admin"))


async def _person_prepare(system: Any) -> Prepared:
    return {"key": f"gated-{uuid.uuid4().hex[:8]}@sjpd.example"}


async def _person_send(system: Any, p: Prepared) -> httpx.Response:
    body = {"sub": p["key"], "name": "Gated Person", "badge": "4711", "roles": ["officer"], "user_class": "sworn"}
    return await system.gateway.post("/v1/admin/persons", json=body, headers=system.token("admin"))


async def _correction_prepare(system: Any) -> Prepared:
    read_id = await read_with_image(system)
    return {"key": read_id, "view": await image_view(system, read_id)}


async def _correction_send(system: Any, p: Prepared) -> httpx.Response:
    body = {
        "plate": unique_plate(),
        "reason": "The image shows an 8 where the reader gave a B",
        "image_view_id": p["view"],
    }
    return await system.gateway.post(f"/v1/reads/{p['key']}/corrections", json=body, headers=system.token("officer"))


async def _partner_search_send(system: Any, p: Prepared) -> httpx.Response:
    body = PartnerSetup.search_body(p["key"], unique_plate())
    return await system.gateway.post(
        "/partner/v1/searches", json=body, headers={"Authorization": f"Bearer {p['token']}"}
    )


PROBES = {
    "hold": Probe(
        "hold_change",
        _hold_prepare,
        _hold_send,
        "SELECT count(*) FROM records.legal_holds WHERE case_number = $1",
        lambda p, body: {"query": {"hold_id": body["hold_id"], "case_number": p["key"]}},
    ),
    "hotlist_entry": Probe(
        "hotlist_change",
        _entry_prepare,
        _entry_send,
        "SELECT count(*) FROM records.hotlist_entries WHERE plate = $1",
        lambda p, body: {"query": {"hotlist_id": p["hotlist_id"], "plate": p["key"]}},
    ),
    "alert_disposition": Probe(
        "alert_verification",
        _disposition_prepare,
        _disposition_send,
        "SELECT count(*) FROM records.alerts WHERE alert_id = $1::uuid AND disposition IS NOT NULL",
        lambda p, body: {"result_ids": [p["key"]], "details": {"action": "disposition", "status": "closed"}},
    ),
    "camera_registration": Probe(
        "admin_change",
        _camera_prepare,
        _camera_send,
        "SELECT count(*) FROM gateway.cameras WHERE camera_id = $1",
        lambda p, body: {"query": {"camera_id": p["key"]}, "details": {"action": "camera_registered"}},
    ),
    "partner_hotlist": Probe(
        "hotlist_change",
        _partner_list_prepare,
        _partner_list_send,
        "SELECT count(*) FROM records.hotlists WHERE partner_ori = $1",
        lambda p, body: {"details": {"agreement_id": p["agreement_id"], "hotlist_id": body["hotlist_id"]}},
    ),
    "agreement_proposal": Probe(
        "agreement_change",
        _proposal_prepare,
        _proposal_send,
        "SELECT count(*) FROM sharing.agreement_proposals WHERE after ->> 'partner_ori' = $1",
        lambda p, body: {"details": {"result": {"id": body["id"]}}},
    ),
    # beyond the six the drill found: a partner's search in the share ledger, a person entered, a read corrected
    "partner_search_ledger": Probe(
        "partner_query",
        _partner_list_prepare,
        _partner_search_send,
        "SELECT count(*) FROM sharing.share_ledger WHERE partner_ori = $1 AND action = 'search'",
        lambda p, body: {"details": {"agreement_id": p["agreement_id"], "partner_ori": p["key"]}},
    ),
    "person_creation": Probe(
        "personnel_change",
        _person_prepare,
        _person_send,
        "SELECT count(*) FROM gateway.persons WHERE sub = $1",
        lambda p, body: {"query": {"subject": p["key"]}, "details": {"change": "created"}},
    ),
    "read_correction": Probe(
        "read_correction",
        _correction_prepare,
        _correction_send,
        "SELECT count(*) FROM records.reads WHERE supersedes = $1::uuid",
        lambda p, body: {"query": {"read_id": p["key"]}, "result_ids": [body["read_id"]]},
        asks_audit_first=True,
    ),
}


async def fetch(system: Any, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def records_like(system: Any, event_type: str, contained: dict[str, Any]) -> int:
    """Access records of a type whose payload contains the given document."""
    sql = "SELECT count(*) FROM audit.access_records WHERE event_type = $1 AND payload::jsonb @> $2::jsonb"
    return await fetch(system, sql, event_type, json.dumps(contained))


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.05)):
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("name", list(PROBES))
class TestAuditGatedChanges:
    async def test_with_audit_stopped_the_change_answers_503_and_is_not_made(self, system: Any, name: str) -> None:
        probe = PROBES[name]
        prepared = await probe.prepare(system)
        not_committed = {"outcome": "not_committed", "details": {"reason": "record_unconfirmed"}}
        followed_before = await records_like(system, probe.event_type, not_committed)
        await system.stop_service("audit")
        try:
            response = await probe.send(system, prepared)
        finally:
            await system.start_service("audit")
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "audit_unavailable"
        assert await fetch(system, probe.stored, prepared["key"]) == 0
        if not probe.asks_audit_first:
            # the unconfirmed record may reach the log from the stream; a record that it was not made follows it
            assert await eventually(
                lambda: _more(records_like(system, probe.event_type, not_committed), followed_before)
            )
        assert await fetch(system, probe.stored, prepared["key"]) == 0

    async def test_with_audit_running_the_change_is_made_with_its_record(self, system: Any, name: str) -> None:
        probe = PROBES[name]
        prepared = await probe.prepare(system)
        response = await probe.send(system, prepared)
        assert response.status_code in (200, 201, 202), response.text
        assert await fetch(system, probe.stored, prepared["key"]) >= 1
        record = {**probe.record(prepared, response.json()), "outcome": "granted"}
        record["details"] = {**record.get("details", {}), "recorded": "before_commit"}
        assert await records_like(system, probe.event_type, record) == 1


async def _more(count: Awaitable[int], than: int) -> bool:
    return await count > than
