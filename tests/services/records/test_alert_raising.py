"""Alerts raised at ingest: each match type and text origin, state mismatches, the stored hit and the stream."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from nats.aio.msg import Msg

from libs.common.contracts.alerts import AlertMessage
from libs.common.contracts.hotlists import (
    HOTLIST_ADD_ENTRY,
    HOTLIST_CREATE,
    HOTLIST_REMOVE_ENTRY,
    EntryLookup,
    HotlistCreateRequest,
    HotlistEntry,
    ManualEntryIn,
)
from libs.common.contracts.reads import Candidate, ReadIn, stable_read_id
from libs.common.contracts.vehicles import VehicleAttributes, normalize_vehicle
from libs.common.streams import alerts_subject, reads_subject
from services.records import repository
from services.records.alerts.flows import AlertRaiser
from services.records.flows import IngestFlow
from services.records.hotlists.follower import HotlistFollower
from services.records.service import ReadRow

pytestmark = pytest.mark.asyncio(loop_scope="session")

AGENCY = "CA0430000"


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:5].upper()


async def manual_list(system: Any) -> str:
    bus = system.runtime("gateway").bus
    created = await bus.call(HOTLIST_CREATE, HotlistCreateRequest(name=unique("raise "), source="manual"))
    return created.hotlist_id


async def add_entry(system: Any, hotlist_id: str, plate: str, state: str | None = "CA", **fields: Any) -> HotlistEntry:
    entry = ManualEntryIn(hotlist_id=hotlist_id, plate=plate, state=state, entered_by="test", **fields)
    # no wait for the index: each batch brings it up to date before matching (issue #7)
    return await system.runtime("gateway").bus.call(HOTLIST_ADD_ENTRY, entry)


def read_of(plate: str, state: str | None = "CA", candidates: Sequence[str] = ()) -> ReadIn:
    return ReadIn(
        read_id=stable_read_id("alert-test", uuid.uuid4()),
        agency=AGENCY,
        camera_id="dev-cam-1",
        captured_at=datetime.now(UTC),
        plate=plate,
        state=state,
        confidence=0.9,
        candidates=[Candidate(plate=c, confidence=0.5) for c in candidates],
    )


async def publish_read(system: Any, plate: str, state: str | None = "CA", candidates: Sequence[str] = ()) -> str:
    read = read_of(plate, state, candidates)
    bus = system.runtime("gateway").bus
    await bus.publish_durable(reads_subject(AGENCY, "dev-cam-1"), read.model_dump_json().encode(), msg_id=read.read_id)
    return read.read_id


async def stored(system: Any, read_id: str) -> tuple[bool, list[dict[str, Any]]]:
    """The read's hotlist_hit and its alerts, once the read is committed and its alerts published."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(600):
            hit = await conn.fetchval("SELECT hotlist_hit FROM records.reads WHERE read_id = $1::uuid", read_id)
            rows = await conn.fetch(
                "SELECT alert_id::text, body, published_at FROM records.alerts WHERE read_id = $1::uuid", read_id
            )
            if hit is not None and all(r["published_at"] for r in rows):
                return bool(hit), [{**json.loads(r["body"]), "published_at": r["published_at"]} for r in rows]
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError(f"read {read_id} was not stored")


class TestMatchTypes:
    async def test_exact_vendor_text(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("7")
        entry = await add_entry(system, hotlist_id, plate, reason="stolen at knifepoint", make="HOND", colour="BLK")
        hit, [alert] = await stored(system, await publish_read(system, plate))
        assert hit is True
        assert (alert["match_type"], alert["matched_text"], alert["matched_origin"]) == ("exact", plate, "vendor")
        assert alert["entry"]["entry_id"] == entry.entry_id and alert["entry"]["plate"] == plate
        assert alert["entry"]["reason"] == "stolen at knifepoint" and alert["entry"]["source"] == "manual"
        assert alert["entry"]["make"] == "HOND" and alert["entry"]["colour"] == "BLK"
        assert alert["state_mismatch"] is False and alert["stale"] is False and alert["entry_age_s"] >= 0
        assert alert["read_plate"] == plate and alert["confidence"] == 0.9

    async def test_lookalike_characters(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        core = uuid.uuid4().hex[:4].upper()
        await add_entry(system, hotlist_id, f"Z{core}B")
        hit, alerts = await stored(system, await publish_read(system, f"2{core}8"))
        # other tests' entries share the session; only this test's entry is asserted on
        [alert] = [a for a in alerts if a["entry"]["plate"] == f"Z{core}B"]
        assert hit is True and alert["match_type"] == "lookalike"
        assert (alert["matched_text"], alert["entry"]["plate"]) == (f"2{core}8", f"Z{core}B")

    async def test_wildcard_entry(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        prefix = unique("W")
        await add_entry(system, hotlist_id, f"{prefix}?*")
        hit, [alert] = await stored(system, await publish_read(system, f"{prefix}XYZ"))
        assert hit is True and alert["match_type"] == "wildcard" and alert["entry"]["plate"] == f"{prefix}?*"

    async def test_a_candidate_matches_when_the_best_reading_does_not(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("5")
        await add_entry(system, hotlist_id, plate)
        hit, [alert] = await stored(system, await publish_read(system, unique("X"), candidates=[unique("Y"), plate]))
        assert hit is True and (alert["matched_origin"], alert["matched_text"]) == ("candidate", plate)

    async def test_state_mismatch_is_noted_not_hidden(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("6")
        await add_entry(system, hotlist_id, plate, state="CA")
        hit, [alert] = await stored(system, await publish_read(system, plate, state="NV"))
        assert hit is True and alert["state_mismatch"] is True
        assert (alert["read_state"], alert["entry"]["state"]) == ("NV", "CA")


class TestNoAlert:
    async def test_unlisted_plate_stores_no_hit(self, system: Any) -> None:
        hit, alerts = await stored(system, await publish_read(system, unique("4")))
        assert hit is False and alerts == []

    async def test_removed_entry_raises_nothing(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("3")
        entry = await add_entry(system, hotlist_id, plate)
        await system.runtime("gateway").bus.call(
            HOTLIST_REMOVE_ENTRY,
            EntryLookup(hotlist_id=hotlist_id, entry_id=entry.entry_id),
        )
        hit, alerts = await stored(system, await publish_read(system, plate))
        assert hit is False and alerts == []


class TestPublication:
    async def test_alert_is_on_the_stream_with_its_id(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("2")
        await add_entry(system, hotlist_id, plate)
        _, [alert] = await stored(system, await publish_read(system, plate))
        assert alert["published_at"] is not None
        js = system.runtime("gateway").bus.js
        last = await js.get_last_msg("ALERTS", alerts_subject(AGENCY))
        on_stream = AlertMessage.model_validate_json(last.data)
        assert on_stream.alert_id == alert["alert_id"] and on_stream.entry.plate == plate
        assert last.headers and last.headers.get("Nats-Msg-Id") == alert["alert_id"]


async def replica_that_hears_nothing(system: Any) -> IngestFlow:
    """A second records replica on the same database and bus whose index is loaded but follows no notice
    and no poll: what a replica is between a lost (at-most-once) notice and its next poll."""
    records = system.runtime("records")
    serving = records.ingest
    follower = HotlistFollower(records.uow, records.bus, serving.classes, poll_s=3600)
    await follower.catch_up()
    replica = IngestFlow(
        serving.settings, records.uow, records.bus, serving.classes, AlertRaiser(records.bus, follower)
    )
    return replica


async def ingest(system: Any, replica: IngestFlow, read: ReadIn) -> None:
    """Hand the replica's ingest the READS message for a read, as its consumer would."""
    subject = reads_subject(AGENCY, read.camera_id)
    await replica.ingest_batch(
        [Msg(system.runtime("records").bus.nc, subject=subject, data=read.model_dump_json().encode())]
    )


class TestEveryReplicaMatchesWhatIsCommitted:
    async def test_a_replica_that_missed_the_notice_alerts_on_an_entry_added_before_the_read(self, system: Any) -> None:
        replica = await replica_that_hears_nothing(system)
        hotlist_id = await manual_list(system)
        plate = unique("8")
        entry = await add_entry(system, hotlist_id, plate)  # served and announced by the running replica
        assert entry.entry_id not in replica.alerts.follower.index
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, [alert] = await stored(system, read.read_id)
        assert hit is True and alert["entry"]["entry_id"] == entry.entry_id

    async def test_a_replica_that_missed_the_notice_stores_no_hit_on_an_entry_removed_before_the_read(
        self, system: Any
    ) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("7")
        entry = await add_entry(system, hotlist_id, plate)
        replica = await replica_that_hears_nothing(system)
        assert entry.entry_id in replica.alerts.follower.index  # and stays there: it hears of no removal
        await system.runtime("gateway").bus.call(
            HOTLIST_REMOVE_ENTRY, EntryLookup(hotlist_id=hotlist_id, entry_id=entry.entry_id)
        )
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, alerts = await stored(system, read.read_id)
        assert hit is False and alerts == []

    async def test_a_redelivered_read_publishes_its_stored_alert_after_the_entry_is_removed(self, system: Any) -> None:
        replica = await replica_that_hears_nothing(system)
        hotlist_id = await manual_list(system)
        plate = unique("9")
        entry = await add_entry(system, hotlist_id, plate)
        read = read_of(plate)
        await ingest(system, replica, read)
        _, [alert] = await stored(system, read.read_id)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            # the publication was cut short (the batch failed after its commit), then the entry was removed
            await conn.execute(
                "UPDATE records.alerts SET published_at = NULL WHERE alert_id = $1::uuid", alert["alert_id"]
            )
            await system.runtime("gateway").bus.call(
                HOTLIST_REMOVE_ENTRY,
                EntryLookup(hotlist_id=hotlist_id, entry_id=entry.entry_id),
            )
            await ingest(system, replica, read)  # the redelivery
            published = await conn.fetchval(
                "SELECT published_at FROM records.alerts WHERE alert_id = $1::uuid", alert["alert_id"]
            )
        finally:
            await conn.close()
        assert published is not None


class TestOneTransaction:
    async def test_a_read_is_not_committed_apart_from_its_alerts(self, system: Any) -> None:
        """The bulk statements run on the session's driver connection: they must be in its transaction, or a
        read is visible (and a redelivery finds it stored) before its alerts are, or without them."""
        records = system.runtime("records")
        read = read_of(unique("4"))
        await records.ingest.ensure_partitions({repository.utc_day(read.captured_at)})
        with pytest.raises(RuntimeError):
            async with records.uow() as session:
                assert await repository.insert_reads(session, [ReadRow(read=read)]) == {read.read_id}
                raise RuntimeError("the batch fails before its commit")
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM records.reads WHERE read_id = $1::uuid", read.read_id) == 0
        finally:
            await conn.close()


class TestOneAlertPerPlate:
    async def test_a_plate_listed_three_times_raises_one_alert_naming_every_entry_once_however_delivered(
        self, system: Any
    ) -> None:
        first, second = await manual_list(system), await manual_list(system)
        plate = unique("1")
        earlier = await add_entry(system, first, plate, priority=60)
        twice = await add_entry(system, first, plate, priority=60)  # the same plate twice on one list
        urgent = await add_entry(system, second, plate, priority=10)
        replica = await replica_that_hears_nothing(system)
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, [alert] = await stored(system, read.read_id)
        # the primary is the highest priority (lowest number), then the earliest entered
        assert hit is True and alert["entry"]["entry_id"] == urgent.entry_id
        assert [e["entry_id"] for e in alert["entries"]] == [urgent.entry_id, earlier.entry_id, twice.entry_id]
        await ingest(system, replica, read)  # the redelivery raises nothing more
        _, again = await stored(system, read.read_id)
        assert [a["alert_id"] for a in again] == [alert["alert_id"]]

    async def test_different_listed_plates_hit_by_one_read_stay_apart(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        core = uuid.uuid4().hex[:4].upper().replace("B", "C").replace("8", "9")
        await add_entry(system, hotlist_id, f"7B{core}")
        await add_entry(system, hotlist_id, f"78{core}")  # a look-alike of the first: another vehicle
        _, alerts = await stored(system, await publish_read(system, f"7B{core}"))
        mine = sorted((a["entry"]["plate"], a["match_type"]) for a in alerts if a["entry"]["plate"].endswith(core))
        assert mine == [(f"78{core}", "lookalike"), (f"7B{core}", "exact")]


async def ingest_read_seen(system: Any, plate: str, vehicle: VehicleAttributes) -> str:
    """The READS message of a read with the vehicle the camera saw, handed to records' ingest as its consumer
    would; returns once the read is committed and its alerts published. Published onto READS instead, the read
    was stored whenever the one shared consumer reached it (behind what earlier tests of the session left on the
    stream, or a batch's redelivery back-off), and `stored` gave up after its 30 s: a race on timing, where
    this asserts the rule."""
    read = read_of(plate).model_copy(update={"vehicle_attributes": vehicle})
    await ingest(system, system.runtime("records").ingest, read)
    return read.read_id


RED_FORD_PICKUP = normalize_vehicle(
    {"make": ("ford", 0.91), "color": ("red", 0.88), "body_type": ("Pickup Truck", 0.8), "year": ("2014", 0.3)}
)


class TestVehicleDiffers:
    async def test_a_plate_on_a_clearly_different_vehicle_is_flagged_for_the_officer(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("4")
        await add_entry(system, hotlist_id, plate, make="TOYT", colour="WHI", style="4D", vehicle_year=2019)
        hit, [alert] = await stored(system, await ingest_read_seen(system, plate, RED_FORD_PICKUP))
        assert hit is True and alert["match_type"] == "exact"
        assert alert["vehicle_differs"] is True
        # the year is left out: the camera's 30% is no evidence either way
        assert alert["vehicle_note"] == "list says white Toyota sedan, camera saw red Ford pickup"

    async def test_the_same_vehicle_raises_no_flag(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        plate = unique("3")
        await add_entry(system, hotlist_id, plate, make="FORD", colour="RED", style="PK")
        hit, [alert] = await stored(system, await ingest_read_seen(system, plate, RED_FORD_PICKUP))
        assert hit is True and alert["vehicle_differs"] is False and alert["vehicle_note"] is None
