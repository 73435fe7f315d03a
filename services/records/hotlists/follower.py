"""The in-memory index of active entries in each records replica, following changes through NATS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.contracts.hotlists import HOTLISTS_CHANGED, HotlistChanged
from libs.common.db import UnitOfWork
from libs.common.tasks import cancelled
from services.records.hotlists import repository
from services.records.hotlists.entries import WILDCARDS, HotlistSource
from services.records.hotlists.matching import HotlistIndex
from services.records.lookalike import LookalikeClasses

log = logging.getLogger(__name__)

PAGE = 50_000
HOUSEKEEPING_S = 60.0  # a purge scans the whole index, so not on every poll
FORGET_REMOVED_AFTER = timedelta(hours=1)  # far longer than any replica's poll interval
FORGET_UPLOADS_AFTER = timedelta(days=1)  # parts of a large import that never completed


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """A stored entry as the index needs it; building the pydantic model costs four times the indexing."""

    plate: str
    state: str | None
    expires_at: datetime
    priority: int
    source: HotlistSource

    @property
    def is_wildcard(self) -> bool:
        return not WILDCARDS.isdisjoint(self.plate)


class HotlistFollower:
    """Loads the index at start, then applies every change numbered past the last one it applied."""

    def __init__(self, uow: UnitOfWork, bus: Bus, classes: LookalikeClasses, *, poll_s: float = 5.0) -> None:
        self.uow = uow
        self.bus = bus
        self._classes = classes
        self.index = HotlistIndex(classes)
        self.last_seq = 0
        self.store: str | None = None  # the database (cluster, timeline) the index was followed from
        self._poll_s = poll_s
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None

    async def start(self) -> None:
        """Subscribe first, then load, so a change committed during the load is not missed."""
        self._sub = await self.bus.nc.subscribe(HOTLISTS_CHANGED, cb=self._on_changed)
        await self.catch_up()
        self._task = asyncio.create_task(self._poll(), name="hotlist-follower")

    async def stop(self) -> None:
        await cancelled(self._task)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def catch_up(self, session: AsyncSession | None = None) -> int:
        """Apply every change past the last applied one; returns how many rows were read.

        With `session`, in that transaction (an ingest batch's own): one transaction per batch, not two.
        Three positions are not followed but loaded again in full into a new index, never patched:
        - another database than the one followed so far (a new timeline: a restore, a failover);
        - the store's newest change below the last one applied: it was restored (or its sequence set back),
          its new changes take numbers this replica believes it has followed, and what the index holds past
          that point is another history's;
        - a removal past the last change applied was purged (`forget_removed`) before this replica read it
          (it followed nothing for an hour): the removed entry would stay in the index, a false hit.
        The position is read after the changes, so a purge between the two is seen.
        """
        if session is None:
            async with self.uow() as own:
                return await self.catch_up(own)
        async with self._lock:
            start = self.last_seq
            seen, self.last_seq = await self._follow(session, self.index, start)
            position = await repository.change_position(session)
            newest, forgotten, store = position.newest, position.forgotten, position.store
            if self.store is not None and store is not None and store != self.store:
                reason = "store_changed"
                log.warning(
                    "the hotlist store is another database (%s, was %s): restored or failed over? "
                    "reloading the index in full",
                    store,
                    self.store,
                )
            elif newest < self.last_seq:
                reason = "went_back"
                log.warning(
                    "hotlist changes went back (newest %d, this index applied %d): database restored? "
                    "reloading the index in full",
                    newest,
                    self.last_seq,
                )
            elif start and forgotten > start:  # from 0 the index was empty: nothing in it to have removed
                reason = "purged"
                log.warning(
                    "hotlist removals up to change %d were purged before this index (at %d) followed them: "
                    "reloading the index in full",
                    forgotten,
                    start,
                )
            else:
                self.store = store
                return seen
            self.store = store
            metrics.HOTLIST_RELOADS.labels(reason).inc()
            return seen + await self._reload(session)

    async def _follow(self, session: AsyncSession, index: HotlistIndex, after_seq: int) -> tuple[int, int]:
        """Apply to `index` every change past `after_seq`, in pages; returns the rows read and the last change."""
        seen = 0
        now = datetime.now(UTC)
        while True:
            rows = await repository.changes_after(session, after_seq=after_seq, limit=PAGE)
            for row in rows:
                _apply(index, row, now)
            seen += len(rows)
            if rows:
                after_seq = rows[-1]["change_seq"]
            if len(rows) < PAGE:
                return seen, after_seq

    async def _reload(self, session: AsyncSession) -> int:
        """Every entry into a new index, swapped in whole: meanwhile reads match against the old one, and
        ingest's check (last_seq, still the old number) sends their batches to wait for this one."""
        index = HotlistIndex(self._classes)
        # the last change read, not the newest after it: one committed meanwhile is followed next time
        seen, self.last_seq = await self._follow(session, index, 0)
        self.index = index
        return seen

    async def announce(self, hotlist_id: str, change_seq: int) -> None:
        """Tell every replica (this one too) that a list changed; the database holds what changed."""
        notice = HotlistChanged(hotlist_id=hotlist_id, change_seq=change_seq)
        try:
            await self.bus.nc.publish(HOTLISTS_CHANGED, notice.model_dump_json().encode())
        except Exception as exc:  # the replicas' poll catches up within seconds anyway
            log.warning("could not announce a hotlist change: %s", exc)

    async def changed(self, hotlist_id: str, change_seq: int) -> None:
        """A list changed here: this replica follows at once, so the caller's next read already matches;
        the others on notice."""
        await self.catch_up()
        await self.announce(hotlist_id, change_seq)

    async def _on_changed(self, msg: Msg) -> None:
        try:
            notice = HotlistChanged.model_validate_json(msg.data)
        except ValueError:
            return
        if notice.change_seq > self.last_seq:
            try:
                await self.catch_up()
            except Exception as exc:
                log.warning("could not follow a hotlist change: %s", exc)

    async def _poll(self) -> None:
        # a lost notice (core NATS is at-most-once) is made good here; expired entries leave the index
        loop = asyncio.get_running_loop()
        housekeeping_at = loop.time() + HOUSEKEEPING_S
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                await self.catch_up()
                if loop.time() < housekeeping_at:
                    continue
                housekeeping_at = loop.time() + HOUSEKEEPING_S
                now = datetime.now(UTC)
                self.index.purge_expired(now)
                async with self.uow() as session:
                    await repository.forget_removed(session, before=now - FORGET_REMOVED_AFTER)
                    await repository.forget_import_parts(session, before=now - FORGET_UPLOADS_AFTER)
            except Exception as exc:
                log.warning("hotlist follower poll failed: %s", exc)


def _apply(index: HotlistIndex, row: Any, now: datetime) -> None:
    if row["removed_at"] is not None or row["expires_at"] <= now:
        index.remove(row["entry_id"])
        return
    entry = IndexedEntry(row["plate"], row["state"], row["expires_at"], row["priority"], HotlistSource(row["source"]))
    index.add(row["entry_id"], entry)
