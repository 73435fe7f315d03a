"""Partner lists (C5: 24 hours after refresh), shareable entries, and replicas following changes over NATS."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.hotlists import (
    HOTLIST_ADD_ENTRY,
    HOTLIST_CREATE,
    HOTLIST_PARTNER_UPSERT,
    HOTLIST_REMOVE_ENTRY,
    HOTLIST_SHAREABLE,
    EntryLookup,
    HotlistCreateRequest,
    ManualEntryIn,
    PartnerEntryIn,
    PartnerUpsert,
    PartnerUpsertReply,
    ShareableQuery,
)
from libs.common.contracts.reads import ReadIn, stable_read_id
from libs.common.streams import reads_subject
from services.records.hotlists.follower import HotlistFollower

pytestmark = pytest.mark.asyncio(loop_scope="session")

AGENCY = "CA0430000"


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:5].upper()


def partner_ori() -> str:
    return "CA" + str(uuid.uuid4().int)[:7]


async def upsert(system: Any, ori: str, entries: list[PartnerEntryIn]) -> PartnerUpsertReply:
    request = PartnerUpsert(partner_ori=ori, agreement_id="AGR-7", partner_name="Santa Clara SO", entries=entries)
    return await system.runtime("gateway").bus.call(HOTLIST_PARTNER_UPSERT, request)


async def stored_entries(system: Any, hotlist_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT plate, source, refreshed_at, expires_at, entered_by FROM records.hotlist_entries "
            "WHERE hotlist_id = $1::uuid AND removed_at IS NULL ORDER BY plate",
            hotlist_id,
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]


async def read_hits(system: Any, plate: str) -> bool:
    """Publish a read of the plate and return whether records stored it as a hotlist hit."""
    read_id = stable_read_id("exchange-test", uuid.uuid4())
    read = ReadIn(read_id=read_id, agency=AGENCY, camera_id="dev-cam-1", captured_at=datetime.now(UTC), plate=plate)
    bus = system.runtime("gateway").bus
    await bus.publish_durable(reads_subject(AGENCY, "dev-cam-1"), read.model_dump_json().encode(), msg_id=read_id)
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(200):
            hit = await conn.fetchval("SELECT hotlist_hit FROM records.reads WHERE read_id = $1::uuid", read_id)
            if hit is not None:
                return bool(hit)
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("the read was not stored")


class TestPartnerUpsert:
    async def test_entries_are_stored_as_partner_expiring_24_hours_after_refresh(self, system: Any) -> None:
        refreshed = datetime.now(UTC) - timedelta(hours=2)
        plate = unique("P")
        reply = await upsert(
            system, partner_ori(), [PartnerEntryIn(plate=plate, state="CA", reason="stolen", refreshed_at=refreshed)]
        )
        assert (reply.accepted, reply.added, reply.removed, reply.refused) == (1, 1, 0, [])
        [entry] = await stored_entries(system, reply.hotlist_id)
        assert entry["source"] == "partner" and entry["plate"] == plate
        assert entry["expires_at"] == refreshed + timedelta(hours=24)

    async def test_a_new_list_replaces_the_partners_previous_one(self, system: Any) -> None:
        ori, now = partner_ori(), datetime.now(UTC)
        kept, dropped, new = unique("K"), unique("D"), unique("N")
        first = await upsert(system, ori, [PartnerEntryIn(plate=p, refreshed_at=now) for p in (kept, dropped)])
        later = now + timedelta(minutes=5)
        second = await upsert(system, ori, [PartnerEntryIn(plate=p, refreshed_at=later) for p in (kept, new)])
        assert second.hotlist_id == first.hotlist_id
        assert (second.added, second.refreshed, second.removed) == (1, 1, 1)
        entries = await stored_entries(system, first.hotlist_id)
        assert sorted(e["plate"] for e in entries) == sorted([kept, new])
        assert all(e["expires_at"] == later + timedelta(hours=24) for e in entries)

    async def test_bad_entries_are_refused_by_index(self, system: Any) -> None:
        now = datetime.now(UTC)
        reply = await upsert(
            system,
            partner_ori(),
            [PartnerEntryIn(plate=unique("G"), refreshed_at=now), PartnerEntryIn(plate="#!", refreshed_at=now)],
        )
        assert reply.accepted == 1 and [r.index for r in reply.refused] == [1]


class TestTwentyFourHourRule:
    async def test_refreshed_24_hours_and_a_second_ago_gives_no_hit(self, system: Any) -> None:
        plate = unique("E")
        refreshed = datetime.now(UTC) - timedelta(hours=24, seconds=1)
        await upsert(system, partner_ori(), [PartnerEntryIn(plate=plate, refreshed_at=refreshed)])
        assert await read_hits(system, plate) is False

    async def test_refreshed_within_24_hours_hits(self, system: Any) -> None:
        plate = unique("F")
        refreshed = datetime.now(UTC) - timedelta(hours=24) + timedelta(minutes=2)
        await upsert(system, partner_ori(), [PartnerEntryIn(plate=plate, refreshed_at=refreshed)])
        assert await read_hits(system, plate) is True


class TestShareable:
    async def test_only_active_entries_of_shareable_lists_and_never_a_partners(self, system: Any) -> None:
        bus = system.runtime("gateway").bus
        shared = await bus.call(
            HOTLIST_CREATE,
            HotlistCreateRequest(name=unique("shared "), source="manual", shareable=True),
        )
        private = await bus.call(HOTLIST_CREATE, HotlistCreateRequest(name=unique("own "), source="manual"))
        ours, theirs, partner_plate = unique("S"), unique("T"), unique("U")
        for hotlist, plate in ((shared, ours), (private, theirs)):
            entry = ManualEntryIn(hotlist_id=hotlist.hotlist_id, plate=plate, state="CA", entered_by="test")
            await bus.call(HOTLIST_ADD_ENTRY, entry)
        await upsert(system, partner_ori(), [PartnerEntryIn(plate=partner_plate, refreshed_at=datetime.now(UTC))])
        result = await bus.call(HOTLIST_SHAREABLE, ShareableQuery())
        plates = {e.plate for e in result.entries}
        assert ours in plates and theirs not in plates and partner_plate not in plates
        assert result.agency == AGENCY and result.refreshed_at is not None
        mine = next(e for e in result.entries if e.plate == ours)
        assert mine.source == "manual" and mine.expires_at > datetime.now(UTC)


class TestReplicasFollow:
    async def test_a_second_replica_follows_additions_and_removals(self, system: Any) -> None:
        records = system.runtime("records")
        replica = HotlistFollower(records.uow, records.bus, records.ingest.classes, poll_s=60)
        await replica.start()
        try:
            bus = system.runtime("gateway").bus
            hotlist = await bus.call(HOTLIST_CREATE, HotlistCreateRequest(name=unique("follow "), source="manual"))
            entry_in = ManualEntryIn(hotlist_id=hotlist.hotlist_id, plate=unique("R"), entered_by="test")
            entry = await bus.call(HOTLIST_ADD_ENTRY, entry_in)
            # the poll is a minute away, so only the NATS notice can bring the change this fast
            for _ in range(100):
                if entry.entry_id in replica.index:
                    break
                await asyncio.sleep(0.02)
            assert entry.entry_id in replica.index
            lookup = EntryLookup(hotlist_id=hotlist.hotlist_id, entry_id=entry.entry_id)
            await bus.call(HOTLIST_REMOVE_ENTRY, lookup)
            for _ in range(100):
                if entry.entry_id not in replica.index:
                    break
                await asyncio.sleep(0.02)
            assert entry.entry_id not in replica.index
        finally:
            await replica.stop()
