"""B1: an alert repeats its read (plate, time, position, candidates); the purge takes it with the read.

The reads are raised on by records' own ingest store, captured 362 days back (past the live cutoff, which
ingest's window check alone would refuse), so their alerts are the ones a real hit stores; the purge runs
at the real time, as the periodic one does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.reads import ReadIn
from services.records.alerts import repository as alerts
from services.records.service import ReadRow
from tests.services.gateway.test_alert_routes import listed_plate
from tests.services.records.test_retention import approved_hold, case_number, certificate, purge

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHILDREN = ("alert_verifications", "alert_image_views", "alert_reopenings")


def old_read(plate: str, captured_at: datetime) -> ReadIn:
    return ReadIn(
        read_id=str(uuid.uuid4()),
        agency="CA0430000",
        camera_id="dev-cam-1",
        captured_at=captured_at,
        plate=plate,
        state="CA",
        confidence=0.9,
        latitude=37.3311,
        longitude=-121.8811,
    )


async def raised_on(system: Any, read: ReadIn) -> str:
    """Store the read as ingest does (its alert with it, published after the commit); the alert's id."""
    rt = system.runtime("records")

    async def nothing_more(*_: Any) -> None:
        return None

    await rt.ingest.store([ReadRow(read=read, classes=rt.ingest.classes)], within=nothing_more)
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        alert_id = await conn.fetchval(
            "SELECT alert_id::text FROM records.alerts WHERE read_id = $1::uuid", read.read_id
        )
    finally:
        await conn.close()
    assert alert_id is not None, "the listed plate raised no alert"
    return str(alert_id)


async def officer_worked(system: Any, alert_id: str) -> None:
    """What an officer and a supervisor leave on an alert: a look at its image, a check, a reopening."""
    rt = system.runtime("records")
    now = datetime.now(UTC)
    async with rt.uow() as session:
        view = await alerts.add_image_view(
            session, alert_id=alert_id, officer_sub="dev-officer", event_ids=[str(uuid.uuid4())], at=now, kind="plate"
        )
        await alerts.add_verification(
            session,
            alert_id=alert_id,
            officer_sub="dev-officer",
            at=now,
            fields={
                "plate_seen": "7SEEN12",
                "state_seen": "CA",
                "vehicle_matches": False,
                "other_source_checked": True,
                "character_mismatches": [2],
                "state_agrees": True,
                "outcome": "investigate_only",
                "reasons": ["plate_mismatch"],
                "image_view_id": view,
                "notes": None,
            },
        )
        await alerts.add_reopening(
            session, alert_id=alert_id, supervisor_sub="dev-supervisor", at=now, reason="second look at the crop"
        )


async def rows_of(system: Any, alert_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM records.{table} WHERE alert_id = $1::uuid", alert_id))
            for table in ("alerts", *CHILDREN)
        }
    finally:
        await conn.close()


class TestThePurgeTakesAlertsWithTheirReads:
    async def test_an_unheld_reads_alert_goes_and_a_held_reads_alert_stays(self, system: Any, admin_db: Any) -> None:
        gone_plate, held_plate = "7P" + uuid.uuid4().hex[:5].upper(), "7H" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, gone_plate)
        await listed_plate(system, held_plate)
        old = datetime.now(UTC) - timedelta(days=362)
        gone_read, held_read = old_read(gone_plate, old), old_read(held_plate, old + timedelta(minutes=1))
        gone_alert = await raised_on(system, gone_read)
        held_alert = await raised_on(system, held_read)
        await officer_worked(system, gone_alert)
        await officer_worked(system, held_alert)
        officer = system.token("officer")
        # past the live retention period already, before any purge: stored, no longer served as current
        assert await rows_of(system, gone_alert) == dict.fromkeys(("alerts", *CHILDREN), 1)
        assert (await system.gateway.get(f"/v1/alerts/{gone_alert}", headers=officer)).status_code == 404
        await approved_hold(system, case_number(), read_ids=[held_read.read_id])

        report = await purge(system)

        assert await rows_of(system, gone_alert) == dict.fromkeys(("alerts", *CHILDREN), 0)
        gone = await system.gateway.get(f"/v1/alerts/{gone_alert}", headers=officer)
        assert gone.status_code == 404, gone.text
        assert gone_plate not in (await system.gateway.get("/v1/alerts", headers=officer)).text
        # the held read's copy keeps its alert and what officers did on it, for the hold's case; past the
        # retention period it is not served to every officer as a current alert (as the held read is not)
        assert await rows_of(system, held_alert) == dict.fromkeys(("alerts", *CHILDREN), 1)
        kept = await system.gateway.get(f"/v1/alerts/{held_alert}", headers=officer)
        assert kept.status_code == 404, kept.text
        assert held_plate not in (await system.gateway.get("/v1/alerts", headers=officer)).text
        details = await certificate(admin_db, report.certificate_id or "")
        purged = details["alerts_purged"]
        assert purged["alerts"] >= 1 and all(purged[table] >= 1 for table in CHILDREN), purged

    async def test_a_released_holds_alert_goes_with_its_copy(self, system: Any) -> None:
        plate = "7R" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, plate)
        # a day of its own: ingest remembers the partitions it made, and the purge above dropped day 362's
        read = old_read(plate, datetime.now(UTC) - timedelta(days=363))
        alert_id = await raised_on(system, read)
        hold_id = await approved_hold(system, case_number(), read_ids=[read.read_id])
        await purge(system)
        assert (await rows_of(system, alert_id))["alerts"] == 1
        ended = await system.gateway.post(
            f"/v1/holds/{hold_id}/release",
            json={"reason": "Case closed by the district attorney"},
            headers=system.token("officer"),
        )
        assert ended.status_code == 200, ended.text
        await purge(system)
        assert await rows_of(system, alert_id) == dict.fromkeys(("alerts", *CHILDREN), 0)
