"""A replica's hotlist index after the store's changes went back (a restore) or were purged before it followed them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common import metrics
from libs.common.contracts.hotlists import HOTLIST_REMOVE_ENTRY, EntryLookup
from services.records.hotlists import repository
from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.follower import FORGET_REMOVED_AFTER, IndexedEntry
from tests.services.records.test_alert_raising import (
    add_entry,
    ingest,
    manual_list,
    read_of,
    replica_that_hears_nothing,
    stored,
    unique,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

WENT_BACK = 1_000  # how far the restored store's change numbers are below what the replica applied


def reloads(reason: str) -> float:
    return metrics.HOTLIST_RELOADS.labels(reason)._value.get()


async def newest_change(system: Any) -> int:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(change_seq), 0) FROM records.hotlist_entries"))
    finally:
        await conn.close()


async def removed_long_ago(system: Any, entry_id: int) -> None:
    """As if the entry had been removed more than the purge's hour ago."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        await conn.execute(
            "UPDATE records.hotlist_entries SET removed_at = removed_at - $2::interval WHERE entry_id = $1",
            entry_id,
            2 * FORGET_REMOVED_AFTER,
        )
    finally:
        await conn.close()


async def forget_removed(system: Any) -> int:
    """The purge a replica's housekeeping runs."""
    async with system.runtime("records").uow() as session:
        return await repository.forget_removed(session, before=datetime.now(UTC) - FORGET_REMOVED_AFTER)


class TestARestoredStore:
    """After a restore the sequence restarts below each replica's last applied change. Set the replica ahead
    of the store by as much (the shared database's sequence cannot be set back under the other tests)."""

    async def test_an_entry_added_after_the_restore_is_hit_by_the_next_read(self, system: Any) -> None:
        replica = await replica_that_hears_nothing(system)
        follower = replica.alerts.follower
        follower.last_seq += WENT_BACK
        before = reloads("went_back")
        hotlist_id = await manual_list(system)
        plate = unique("6")
        entry = await add_entry(system, hotlist_id, plate)  # numbered at most what the replica applied
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, [alert] = await stored(system, read.read_id)
        assert hit is True and alert["entry"]["entry_id"] == entry.entry_id
        assert reloads("went_back") == before + 1
        assert follower.last_seq == await newest_change(system)

    async def test_an_entry_of_the_lost_history_hits_nothing(self, system: Any) -> None:
        """What the index applied past the restored store's newest change is gone from the store."""
        replica = await replica_that_hears_nothing(system)
        follower = replica.alerts.follower
        plate = unique("5")
        lost = IndexedEntry(plate, "CA", datetime.now(UTC) + timedelta(days=1), 1, HotlistSource.MANUAL)
        follower.index.add(10**15, lost)
        follower.last_seq += WENT_BACK
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, alerts = await stored(system, read.read_id)
        assert hit is False and alerts == []
        assert 10**15 not in follower.index

    async def test_the_poll_reloads_the_index(self, system: Any) -> None:
        replica = await replica_that_hears_nothing(system)
        follower = replica.alerts.follower
        follower.last_seq += WENT_BACK
        hotlist_id = await manual_list(system)
        entry = await add_entry(system, hotlist_id, unique("4"))
        await follower.catch_up()
        assert entry.entry_id in follower.index
        assert follower.last_seq == await newest_change(system)

    async def test_a_current_index_stores_in_one_statement_and_reloads_nothing(self, system: Any) -> None:
        replica = await replica_that_hears_nothing(system)
        before = reloads("went_back")
        read = read_of(unique("3"))
        await ingest(system, replica, read)
        hit, _ = await stored(system, read.read_id)
        await replica.alerts.follower.catch_up()
        assert hit is False and reloads("went_back") == before

    async def test_the_replica_knows_the_database_it_follows(self, system: Any) -> None:
        replica = await replica_that_hears_nothing(system)
        assert replica.alerts.follower.store  # the check below is live on our PostgreSQL

    async def test_a_restore_with_more_changes_since_than_it_set_back_is_seen_by_its_timeline(
        self, system: Any
    ) -> None:
        """Changes written after the restore took the numbers back past the replica's: numbers alone show
        nothing, and the index would keep the lost history's entries and miss the restored store's."""
        replica = await replica_that_hears_nothing(system)
        follower = replica.alerts.follower
        plate = unique("5")
        lost = IndexedEntry(plate, "CA", datetime.now(UTC) + timedelta(days=1), 1, HotlistSource.MANUAL)
        follower.index.add(10**15 + 1, lost)
        follower.store = "another cluster/1"  # the database it followed before the restore
        before = reloads("store_changed")
        hotlist_id = await manual_list(system)
        await add_entry(system, hotlist_id, unique("4"))  # past the replica's number
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, alerts = await stored(system, read.read_id)
        assert hit is False and alerts == []
        assert reloads("store_changed") == before + 1
        assert follower.store != "another cluster/1"
        await follower.catch_up()
        assert reloads("store_changed") == before + 1


class TestThePurgeOfRemovedEntries:
    async def test_the_newest_change_is_kept_so_it_never_goes_back(self, system: Any) -> None:
        hotlist_id = await manual_list(system)
        entry = await add_entry(system, hotlist_id, unique("2"))
        await system.runtime("gateway").bus.call(
            HOTLIST_REMOVE_ENTRY, EntryLookup(hotlist_id=hotlist_id, entry_id=entry.entry_id)
        )
        await removed_long_ago(system, entry.entry_id)
        newest = await newest_change(system)
        await forget_removed(system)
        assert await newest_change(system) == newest


class TestAReplicaThatLaggedPastThePurge:
    """A removal is known only by its entry's row; the purge deletes the row an hour after the removal. A replica
    that followed nothing in that hour (its poll failing, its pod paused) could never learn of it."""

    async def lagging_replica_of_a_purged_removal(self, system: Any, plate: str) -> Any:
        hotlist_id = await manual_list(system)
        entry = await add_entry(system, hotlist_id, plate)
        replica = await replica_that_hears_nothing(system)
        assert entry.entry_id in replica.alerts.follower.index
        await system.runtime("gateway").bus.call(
            HOTLIST_REMOVE_ENTRY, EntryLookup(hotlist_id=hotlist_id, entry_id=entry.entry_id)
        )
        await add_entry(system, hotlist_id, unique("1"))  # changes go on after it
        await removed_long_ago(system, entry.entry_id)
        assert await forget_removed(system) >= 1
        return replica

    async def test_a_read_of_the_removed_plate_hits_nothing(self, system: Any) -> None:
        plate = unique("Z")
        replica = await self.lagging_replica_of_a_purged_removal(system, plate)
        before = reloads("purged")
        read = read_of(plate)
        await ingest(system, replica, read)
        hit, alerts = await stored(system, read.read_id)
        assert hit is False and alerts == []
        assert reloads("purged") == before + 1

    async def test_the_poll_drops_the_removed_entry(self, system: Any) -> None:
        plate = unique("Y")
        replica = await self.lagging_replica_of_a_purged_removal(system, plate)
        follower = replica.alerts.follower
        await follower.catch_up()
        assert not follower.index.match([(plate, "vendor")], "CA", datetime.now(UTC))
        assert follower.last_seq == await newest_change(system)
        before = reloads("purged")
        await follower.catch_up()  # loaded: no second reload
        assert reloads("purged") == before

    async def test_a_replica_that_followed_the_removal_reloads_nothing(self, system: Any) -> None:
        plate = unique("X")
        replica = await self.lagging_replica_of_a_purged_removal(system, plate)
        follower = replica.alerts.follower
        await follower.catch_up()
        hotlist_id = await manual_list(system)
        entry = await add_entry(system, hotlist_id, unique("W"))
        await system.runtime("gateway").bus.call(
            HOTLIST_REMOVE_ENTRY, EntryLookup(hotlist_id=hotlist_id, entry_id=entry.entry_id)
        )
        await add_entry(system, hotlist_id, unique("V"))
        await follower.catch_up()  # follows the removal
        await removed_long_ago(system, entry.entry_id)
        assert await forget_removed(system) >= 1
        before = reloads("purged")
        await follower.catch_up()
        assert reloads("purged") == before

    async def test_a_replica_loading_from_nothing_reloads_nothing(self, system: Any) -> None:
        """Removals purged before a replica starts are not in what it loads: one load, not two."""
        plate = unique("U")
        await self.lagging_replica_of_a_purged_removal(system, plate)
        before = reloads("purged")
        replica = await replica_that_hears_nothing(system)
        assert reloads("purged") == before
        assert not replica.alerts.follower.index.match([(plate, "vendor")], "CA", datetime.now(UTC))
