"""Audit's flow: the AUDIT writer stores each event once, in stream order, checkpoints, then wakes its waiters."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from nats.aio.msg import Msg
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.consumer import BatchConsumer, PreparedAhead
from libs.common.contracts.audit import PersistedQuery, PersistedReply
from libs.common.db import UnitOfWork
from libs.common.errors import Unavailable
from libs.common.streams import AUDIT_WRITER
from services.audit import repository
from services.audit.ledger import escaping
from services.audit.ledger.checkpoints import sign_checkpoint
from services.audit.ledger.merkle import MerkleAccumulator
from services.audit.service import UNREADABLE_EVENT_TYPE, PreparedEvent, checkpoint_due, links_for, prepare_events
from services.audit.settings import AuditSettings

log = logging.getLogger(__name__)


class AuditWriter:
    """Persists each event once, in stream order, then wakes whoever waits for it."""

    def __init__(self, settings: AuditSettings, uow: UnitOfWork, bus: Bus) -> None:
        self.settings = settings
        self.uow = uow
        self.bus = bus
        self._waiters: dict[str, list[asyncio.Future[PersistedReply]]] = {}
        self._signing_key = settings.signing_key()
        self._tree: MerkleAccumulator | None = None
        self._prepared: PreparedAhead[list[PreparedEvent]] = PreparedAhead()
        self._started = datetime.now(UTC)

    def prepare(self, msgs: list[Msg]) -> None:
        """Validate and encode a fetched batch ahead of its turn.

        The consumer calls this for the prefetched batch while the current one waits on PostgreSQL, so
        the writer's CPU work overlaps the database's. Only the last prepared batch is kept.
        """
        if msgs:
            self._prepared.keep(msgs, prepare_events([msg.data for msg in msgs], _origins(msgs)))

    async def write_batch(self, msgs: list[Msg]) -> None:
        """Chain and insert a batch in one transaction; the consumer acks only after it commits."""
        # taken now: the next batch's preparation lands while this one waits on the database
        events = self._prepared.take(msgs)
        if events is None:
            events = prepare_events([msg.data for msg in msgs], _origins(msgs))
        for event in events:
            if event.event_type == UNREADABLE_EVENT_TYPE or escaping.MARK in event.payload:
                log.error("AUDIT event %s could not be stored as sent: stored escaped", event.event_id)
        metrics.AUDIT_LAG.set(msgs[-1].metadata.num_pending if msgs else 0)
        async with self.uow() as session:
            head = await repository.lock_chain_head(session)
            stored = await repository.existing_event_ids(session, event_ids=[e.event_id for e in events])
            links = links_for(events, head, stored)
            await repository.append_links(session, links)
            tree = await self._tree_at(session, head.seq if head else 0)
            for link in links:
                tree.append(bytes.fromhex(link.hash))
            await self._checkpoint_if_due(session, tree)
        # only a committed tree is kept: a rolled-back batch leaves the last committed one in place
        self._tree = tree
        for link in links:
            for waiter in self._waiters.pop(link.event_id, []):
                if not waiter.done():
                    waiter.set_result(PersistedReply(event_id=link.event_id, seq=link.seq, record_hash=link.hash))

    async def checkpoint_tick(self, *, force: bool = False) -> None:
        """Sign the records of a quiet period: the T-seconds half of "every N records or T seconds"."""
        async with self.uow() as session:
            head = await repository.lock_chain_head(session)
            tree = await self._tree_at(session, head.seq if head else 0)
            await self._checkpoint_if_due(session, tree, force=force)
        self._tree = tree

    async def _tree_at(self, session: AsyncSession, size: int) -> MerkleAccumulator:
        """A copy of the Merkle tree over the first `size` records, caught up from the database."""
        tree = self._tree
        if tree is None or tree.size > size:
            tree = MerkleAccumulator()
        else:
            tree = MerkleAccumulator.resume(tree.size, tree.peaks)
        if tree.size < size:
            # another replica wrote since, or this is the start: read the missing leaves once
            for leaf in await repository.chain_hashes(session, after_seq=tree.size, upto_seq=size):
                tree.append(leaf)
        return tree

    async def _checkpoint_if_due(self, session: AsyncSession, tree: MerkleAccumulator, *, force: bool = False) -> None:
        if self._signing_key is None:
            return
        last = await repository.find_checkpoint(session, tree_size=None)
        now = datetime.now(UTC)
        every, interval = self.settings.checkpoint_every, self.settings.checkpoint_interval_s
        if force and tree.size > (last.tree_size if last else 0):
            every = 1
        if checkpoint_due(tree.size, last, now, every=every, interval_s=interval, since=self._started):
            checkpoint = sign_checkpoint(
                self._signing_key, tree_size=tree.size, root_hash=tree.root().hex(), timestamp=now
            )
            await repository.insert_checkpoint(session, checkpoint)

    async def load_tree(self) -> None:
        """Rebuild the Merkle tree from the database at start, so the first batch need not."""
        async with self.uow() as session:
            head = await repository.lock_chain_head(session)
            self._tree = await self._tree_at(session, head.seq if head else 0)

    async def persisted(self, query: PersistedQuery) -> PersistedReply:
        """Answer once the event is in the database, or Unavailable after `wait_ms`."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[PersistedReply] = loop.create_future()
        self._waiters.setdefault(query.event_id, []).append(waiter)
        deadline = loop.time() + query.wait_ms / 1000
        try:
            while True:
                async with self.uow() as session:
                    link = await repository.find_link(session, event_id=query.event_id)
                if link is not None:
                    return PersistedReply(event_id=link.event_id, seq=link.seq, record_hash=link.hash)
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise Unavailable("the access record was not persisted in time", code="audit_unavailable")
                try:
                    # another replica may be the writer, so poll the database as well as waiting
                    return await asyncio.wait_for(asyncio.shield(waiter), timeout=min(remaining, 0.05))
                except TimeoutError:
                    continue
        finally:
            waiters = self._waiters.get(query.event_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiters.pop(query.event_id, None)


def _origins(msgs: list[Msg]) -> list[tuple[int, datetime]]:
    """Each message's stream sequence and publish time: what names a body that is no audit event."""
    return [(msg.metadata.sequence.stream, msg.metadata.timestamp) for msg in msgs]


def writer_consumer(bus: Bus, writer: AuditWriter, *, batch: int) -> BatchConsumer:
    """The AUDIT writer's consumer: in stream order, the next batch fetched and prepared during a commit."""
    return BatchConsumer(
        bus, AUDIT_WRITER, writer.write_batch, batch=batch, prefetch=True, ordered=True, prepare=writer.prepare
    )
