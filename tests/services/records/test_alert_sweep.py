"""Alerts stored but left unpublished (a publish that failed after its commit) are published by the sweep."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.records.alerts.sweeper import UnpublishedAlerts
from tests.services.gateway.test_alert_routes import last_alert_seq, listed_plate, raise_alert

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def unpublished_copy(admin_db: Any, alert_id: str, *, age: timedelta) -> str:
    """A copy of a stored alert under a new id, raised `age` ago and never published: a publish that failed."""
    copy_id = str(uuid.uuid4())
    conn = await admin_db()
    try:
        await conn.execute(
            "INSERT INTO records.alerts (alert_id, read_id, captured_at, raised_at, agency, camera_id, entry_id, "
            "hotlist_id, match_type, matched_text, state_mismatch, stale, body, listed_plate) "
            "SELECT $2::uuid, gen_random_uuid(), captured_at, now() - $3::interval, agency, camera_id, entry_id, "
            "hotlist_id, match_type, matched_text, state_mismatch, stale, "
            "body || jsonb_build_object('alert_id', $2::text), listed_plate FROM records.alerts "
            "WHERE alert_id = $1::uuid",
            alert_id,
            copy_id,
            age,
        )
    finally:
        await conn.close()
    return copy_id


async def published_at(admin_db: Any, alert_id: str) -> datetime | None:
    conn = await admin_db()
    try:
        return await conn.fetchval("SELECT published_at FROM records.alerts WHERE alert_id = $1::uuid", alert_id)
    finally:
        await conn.close()


async def test_a_settled_unpublished_alert_is_published_and_others_left_alone(system: Any, admin_db: Any) -> None:
    plate = "7S" + uuid.uuid4().hex[:5].upper()
    await listed_plate(system, plate)
    raised = await raise_alert(system, plate)
    before = await last_alert_seq(system)  # first: the service's own sweep may publish the copy any moment now
    broken = await unpublished_copy(admin_db, raised["alert_id"], age=timedelta(minutes=6))
    conn = await admin_db()
    try:  # an older one whose body no longer makes an alert: it must not hold back the ones behind it
        await conn.execute("UPDATE records.alerts SET body = body - 'camera_id' WHERE alert_id = $1::uuid", broken)
    finally:
        await conn.close()
    lost = await unpublished_copy(admin_db, raised["alert_id"], age=timedelta(minutes=5))
    fresh = await unpublished_copy(admin_db, raised["alert_id"], age=timedelta(seconds=0))
    stale = await unpublished_copy(admin_db, raised["alert_id"], age=timedelta(hours=30))
    rt = system.runtime("records")
    await UnpublishedAlerts(rt.uow, rt.ingest.alerts).sweep()
    assert await published_at(admin_db, lost) is not None
    for left in (broken, fresh, stale):  # fresh: the normal path may still publish it; stale: no longer news
        assert await published_at(admin_db, left) is None
    js = system.runtime("gateway").bus.js
    sent = [
        json.loads((await js.get_msg("ALERTS", seq)).data)["alert_id"]
        for seq in range(before + 1, await last_alert_seq(system) + 1)
    ]
    assert lost in sent and not {broken, fresh, stale} & set(sent)
    # the copies left unpublished go, so the service's own sweep never pushes them at another test's subscriber
    conn = await admin_db()
    try:
        await conn.execute("DELETE FROM records.alerts WHERE alert_id = ANY($1::uuid[])", [broken, fresh, stale])
    finally:
        await conn.close()
