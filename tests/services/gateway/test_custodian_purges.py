"""The custodian's desk, retention side: a purge on order (one at a time, recorded) and the deletion certificates."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.records.retention.repository import PURGE_LOCK
from tests.services.gateway.test_hold_views import view_records
from tests.services.records.conftest import StoredRead, _store

pytestmark = pytest.mark.asyncio(loop_scope="session")

CERTIFICATES = "/v1/admin/deletion-certificates"
PURGES = "/v1/admin/purges"


def order(marker: str) -> dict[str, str]:
    return {"reason": f"Quarterly retention check ordered by the Deputy Chief, ticket {marker}"}


async def order_purge(system: Any, marker: str) -> dict[str, Any]:
    """Order a purge as the custodian, waiting out one that a hold's release may have started."""
    for _ in range(100):
        ordered = await system.gateway.post(PURGES, json=order(marker), headers=system.token("custodian"))
        if ordered.status_code != 409:
            assert ordered.status_code == 201, ordered.text
            return dict(ordered.json())
        await asyncio.sleep(0.1)
    raise AssertionError("the purge lock was never free")


async def order_record_id(system: Any, marker: str) -> str:
    """The event id of the purge order whose reason carries the marker, once the log has it."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(100):
            found = await conn.fetchval(
                "SELECT event_id FROM audit.access_records WHERE event_type = 'admin_change' "
                "AND (payload::jsonb)->>'outcome' IS DISTINCT FROM 'not_committed' AND strpos(payload, $1) > 0",
                marker,
            )
            if found:
                return str(found)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("no order record in the log")


class TestPurgeOrder:
    async def test_the_custodian_purges_and_gets_the_certificate_naming_who_and_why(self, system: Any) -> None:
        old = StoredRead(plate="P" + uuid.uuid4().hex[:6].upper(), captured_at=datetime.now(UTC) - timedelta(days=363))
        await _store(system.stack.pg.admin_dsn, [old])
        marker = uuid.uuid4().hex
        reply = await order_purge(system, marker)
        assert reply["report"]["ran"] is True and reply["report"]["reads_purged"] >= 1
        certificate = reply["certificate"]
        assert certificate["certificate_id"] == reply["report"]["certificate_id"]
        assert certificate["reads_purged"] == reply["report"]["reads_purged"]
        assert certificate["ordered_by"]["sub"] == "dev-custodian" and certificate["ordered_by"]["badge"]
        assert marker in certificate["details"]["order_reason"]
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            left = await conn.fetchval("SELECT count(*) FROM records.reads WHERE read_id = $1::uuid", old.read_id)
        finally:
            await conn.close()
        assert left == 0
        # the order's record (who, badge, reason), then the certificate naming that record
        [ordered] = await view_records(system, "admin_change", marker)
        assert ordered["actor"]["sub"] == "dev-custodian" and ordered["actor"]["badge"]
        assert ordered["details"]["action"] == "purge_ordered" and ordered["details"]["recorded"] == "before_purge"
        [certified] = await view_records(system, "purge", marker)
        assert certified["details"]["order_record"] == await order_record_id(system, marker)
        assert certified["actor"]["kind"] == "system" and certified["details"]["ordered_by"]["sub"] == "dev-custodian"

    async def test_a_second_order_while_a_purge_runs_is_refused_and_recorded(self, system: Any) -> None:
        marker = uuid.uuid4().hex
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            # what a purge running in another records replica holds
            await conn.execute("SELECT pg_advisory_lock($1)", PURGE_LOCK)
            busy = await system.gateway.post(PURGES, json=order(marker), headers=system.token("custodian"))
            await conn.execute("SELECT pg_advisory_unlock($1)", PURGE_LOCK)
        finally:
            await conn.close()
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "purge_running"
        [denied] = await view_records(system, "access_denied", marker)
        assert denied["details"]["refusal"] == "purge_running" and denied["actor"]["sub"] == "dev-custodian"
        assert await view_records(system, "admin_change", marker) == []

    async def test_no_record_of_the_order_means_nothing_purged(self, system: Any) -> None:
        old = StoredRead(plate="Q" + uuid.uuid4().hex[:6].upper(), captured_at=datetime.now(UTC) - timedelta(days=363))
        await _store(system.stack.pg.admin_dsn, [old])
        marker = uuid.uuid4().hex
        await system.stop_service("audit")
        try:
            refused = await system.gateway.post(PURGES, json=order(marker), headers=system.token("custodian"))
        finally:
            await system.start_service("audit")
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "audit_unavailable"
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            kept = await conn.fetchval("SELECT count(*) FROM records.reads WHERE read_id = $1::uuid", old.read_id)
        finally:
            await conn.close()
        assert kept == 1
        # the order's record reaches the log from the stream once audit is back, and so does what followed it
        ordered = await order_record_id(system, marker)
        [follow_up] = await view_records(system, "admin_change", ordered)
        assert follow_up["outcome"] == "not_committed" and follow_up["details"]["reason"] == "record_unconfirmed"

    @pytest.mark.parametrize("role", ["officer", "analyst", "supervisor", "admin", "auditor"])
    async def test_only_the_custodian_orders_a_purge(self, system: Any, role: str) -> None:
        refused = await system.gateway.post(PURGES, json=order("x"), headers=system.token(role))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    @pytest.mark.parametrize(
        "body",
        [{}, {"reason": "purge"}, {**order("x"), "now": "2020-01-01T00:00:00Z"}, {"reason": "asdf " * 10}],
        ids=["no reason", "short", "unknown field", "vague"],
    )
    async def test_an_order_needs_a_reason_and_nothing_else(self, system: Any, body: dict[str, Any]) -> None:
        refused = await system.gateway.post(PURGES, json=body, headers=system.token("custodian"))
        assert refused.status_code == 422, refused.text


class TestDeletionCertificates:
    @pytest.mark.parametrize("role", ["custodian", "auditor"])
    async def test_newest_first_and_the_look_is_recorded(self, system: Any, role: str) -> None:
        first = (await order_purge(system, uuid.uuid4().hex))["certificate"]["certificate_id"]
        second = (await order_purge(system, uuid.uuid4().hex))["certificate"]["certificate_id"]
        listed = await system.gateway.get(CERTIFICATES, params={"limit": 200}, headers=system.token(role))
        assert listed.status_code == 200, listed.text
        ids = [c["certificate_id"] for c in listed.json()["certificates"]]
        assert ids.index(second) < ids.index(first)
        [record] = await view_records(system, "audit_access", second)
        assert record["actor"]["sub"] == f"dev-{role}" and record["details"]["route"] == "deletion_certificates"
        assert record["result_ids"] == ids

    async def test_pages_and_periods(self, system: Any) -> None:
        since = datetime.now(UTC) - timedelta(seconds=1)
        mine = [(await order_purge(system, uuid.uuid4().hex))["certificate"]["certificate_id"] for _ in range(3)]
        window = {"since": since.isoformat(), "until": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
        headers = system.token("custodian")
        seen: list[str] = []
        params: dict[str, Any] = {**window, "limit": 2}
        while True:
            page = (await system.gateway.get(CERTIFICATES, params=params, headers=headers)).json()
            seen += [c["certificate_id"] for c in page["certificates"]]
            if page["next_before"] is None:
                break
            params["before"] = page["next_before"]
        assert [c for c in seen if c in mine] == mine[::-1]
        assert len(seen) == len(set(seen))
        later = {"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
        assert (await system.gateway.get(CERTIFICATES, params=later, headers=headers)).json()["certificates"] == []
        earlier = {"until": since.isoformat(), "limit": 200}
        before = (await system.gateway.get(CERTIFICATES, params=earlier, headers=headers)).json()["certificates"]
        assert not set(mine) & {c["certificate_id"] for c in before}

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 201},
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            {"since": "2026-01-01T00:00:00"},
            {"before": "not-a-certificate"},
        ],
        ids=["limit 0", "limit 201", "empty period", "no time zone", "bad cursor"],
    )
    async def test_bounded_parameters(self, system: Any, params: dict[str, Any]) -> None:
        refused = await system.gateway.get(CERTIFICATES, params=params, headers=system.token("custodian"))
        assert refused.status_code == 422, refused.text

    @pytest.mark.parametrize("role", ["officer", "analyst", "supervisor", "admin"])
    async def test_others_are_refused(self, system: Any, role: str) -> None:
        refused = await system.gateway.get(CERTIFICATES, headers=system.token(role))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
