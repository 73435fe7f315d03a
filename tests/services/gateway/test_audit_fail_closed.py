"""No record, no data: when the audit path is gone, a search gets 503 and nothing else."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from libs.common.streams import AUDIT

pytestmark = pytest.mark.asyncio(loop_scope="session")

PURPOSE = {
    "use": "wanted_suspect",
    "case_number": "SJ-2026-000777",
    "reason": "Suspect in armed robbery seen leaving in this vehicle",
}


def search_body(plate: str) -> dict:
    now = datetime.now(UTC)
    return {
        "query": {"plate": plate, "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()},
        "purpose": PURPOSE,
    }


async def count_search_records(system, plate: str) -> int:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM audit.access_records WHERE plate = $1 AND event_type = 'search'", plate
            )
        )
    finally:
        await conn.close()


async def searches_tallied_today(system) -> int:  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT coalesce(sum(count), 0) FROM gateway.access_tally WHERE day = $1 AND event_type = 'search'",
                datetime.now(UTC).date(),
            )
        )
    finally:
        await conn.close()


class TestAuditPathGone:
    async def test_audit_service_down_means_503_and_no_data(self, system) -> None:
        plate = "5" + uuid.uuid4().hex[:5].upper()
        tallied = await searches_tallied_today(system)
        await system.stop_service("audit")
        try:
            response = await system.gateway.post(
                "/v1/searches", json=search_body(plate), headers=system.token("officer")
            )
        finally:
            await system.start_service("audit")
        assert response.status_code == 503
        assert response.json() == {"error": response.json()["error"]}
        assert response.json()["error"]["code"] == "audit_unavailable"
        # counted while the record was awaited, then taken back: the A5 tally counts only answered searches
        assert await searches_tallied_today(system) == tallied

    async def test_audit_stream_not_acknowledging_means_503_and_no_data(self, system) -> None:
        plate = "6" + uuid.uuid4().hex[:5].upper()
        js = system.runtime("gateway").bus.js
        # the stream stops taking audit subjects: JetStream cannot acknowledge any access record
        await js.update_stream(dataclasses.replace(AUDIT, subjects=["alpr.audit.detached.>"]))
        try:
            response = await system.gateway.post(
                "/v1/searches", json=search_body(plate), headers=system.token("officer")
            )
        finally:
            await js.update_stream(AUDIT)
        assert response.status_code == 503
        assert "reads" not in response.json()
        assert response.json()["error"]["code"] == "audit_unavailable"
        assert await count_search_records(system, plate) == 0

    async def test_with_the_path_restored_the_same_search_succeeds(self, system) -> None:
        plate = "4" + uuid.uuid4().hex[:5].upper()
        tallied = await searches_tallied_today(system)
        response = await system.gateway.post("/v1/searches", json=search_body(plate), headers=system.token("officer"))
        assert response.status_code == 200, response.text
        assert await count_search_records(system, plate) == 1
        assert await searches_tallied_today(system) == tallied + 1
