"""Audit's flow: the AUDIT writer stores each event once, in stream order, checkpoints, then wakes its waiters."""

from __future__ import annotations

import asyncio
import logging
import time
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
from services.audit.ledger.verify import VerifyFailure
from services.audit.service import UNREADABLE_EVENT_TYPE, PreparedEvent, checkpoint_due, links_for, prepare_events
from services.audit.settings import AuditSettings
from services.audit.verification import hold_against_stream

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
        # Records 1.._witnessed are, where no checkpoint covers them, records this process chained itself
        # or held against the AUDIT stream: only those are signed. Records read back from the database (at
        # start, or written by another replica) could have been rewritten there, hashes recomputed.
        self._witnessed = 0
        # after a witness read that failed or could not judge, none before this (monotonic) time: the read is
        # thousands of messages under the chain-head lock, which every access record waits on
        self._witness_again_at = 0.0
        # set once the log's unsigned end differs from the stream: no checkpoint is signed until a restart
        self.refusal: VerifyFailure | None = None

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
            head_seq = head.seq if head else 0
            stored = await repository.existing_event_ids(session, event_ids=[e.event_id for e in events])
            links = links_for(events, head, stored)
            await repository.append_links(session, links)
            tree = await self._tree_at(session, head_seq)
            for link in links:
                tree.append(bytes.fromhex(link.hash))
            witnessed = self._witnessed_at(head_seq)
            if witnessed == head_seq:  # the batch's own links are witnessed when everything before them is
                witnessed = tree.size
            witnessed = await self._checkpoint_if_due(session, tree, witnessed)
        # only a committed tree is kept: a rolled-back batch leaves the last committed one in place
        self._tree = tree
        self._witnessed = witnessed
        for link in links:
            for waiter in self._waiters.pop(link.event_id, []):
                if not waiter.done():
                    waiter.set_result(PersistedReply(event_id=link.event_id, seq=link.seq, record_hash=link.hash))

    async def checkpoint_tick(self, *, force: bool = False) -> None:
        """Sign the records of a quiet period: the T-seconds half of "every N records or T seconds"."""
        async with self.uow() as session:
            head = await repository.lock_chain_head(session)
            head_seq = head.seq if head else 0
            tree = await self._tree_at(session, head_seq)
            witnessed = await self._checkpoint_if_due(session, tree, self._witnessed_at(head_seq), force=force)
        self._tree = tree
        self._witnessed = witnessed

    def _witnessed_at(self, head_seq: int) -> int:
        """What is witnessed of a log that ends at `head_seq`; nothing once it ends before what was witnessed."""
        # a log shorter than this process saw was cut: let the stream say where before anything is signed
        return self._witnessed if self._witnessed <= head_seq else 0

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

    async def _checkpoint_if_due(
        self, session: AsyncSession, tree: MerkleAccumulator, witnessed: int, *, force: bool = False
    ) -> int:
        """Sign the tree when a checkpoint is due and its unsigned records are witnessed; the witnessed size after."""
        if self._signing_key is None or self.refusal is not None:
            return witnessed
        last = await repository.find_checkpoint(session, tree_size=None)
        signed = last.tree_size if last else 0
        now = datetime.now(UTC)
        every, interval = self.settings.checkpoint_every, self.settings.checkpoint_interval_s
        if force and tree.size > signed:
            every = 1
        if not checkpoint_due(tree.size, last, now, every=every, interval_s=interval, since=self._started):
            return witnessed
        if witnessed < tree.size:
            if time.monotonic() < self._witness_again_at:
                return witnessed
            witnessed = await self._witness(session, tree.size, signed, witnessed)
            if witnessed < tree.size:
                return witnessed
        checkpoint = sign_checkpoint(self._signing_key, tree_size=tree.size, root_hash=tree.root().hex(), timestamp=now)
        await repository.insert_checkpoint(session, checkpoint)
        return witnessed

    async def _witness(self, session: AsyncSession, size: int, signed: int, witnessed: int) -> int:
        """Hold records signed+1..size against the AUDIT stream: `size` when they are as sent, else `witnessed`.

        Fails closed: a record that differs from its message (or an acknowledged event missing from the log)
        stops all signing until the service is restarted over a log put right, so no checkpoint blesses a
        rewrite; a stream that cannot be read (or a read that cannot judge every record) defers signing, and
        the next read waits a checkpoint interval, so batches do not each repeat it under the lock.
        """
        try:
            failure, _ = await hold_against_stream(session, self.bus.js, log_end=size, after_seq=signed)
        except Exception as exc:
            self._witness_again_at = time.monotonic() + self.settings.checkpoint_interval_s
            log.warning(
                "the unsigned end of the access log could not be held against the AUDIT stream (next try in %ss): %s",
                self.settings.checkpoint_interval_s,
                exc,
            )
            return witnessed
        if failure is None:
            return size
        self.refusal = failure
        metrics.AUDIT_VERIFY_OK.set(0)
        log.error(
            "AUDIT LOG TAMPERED: %s at seq %s (event %s): %s. No checkpoint will be signed until the log is "
            "restored and the audit service restarted",
            failure.reason,
            failure.seq,
            failure.event_id,
            failure.detail,
        )
        return witnessed

    async def load_tree(self) -> None:
        """Rebuild the Merkle tree from the database at start, and hold its unsigned end against the stream.

        Nothing read back from the database is trusted for signing until the check passes (see _witness).
        """
        async with self.uow() as session:
            head = await repository.lock_chain_head(session)
            tree = await self._tree_at(session, head.seq if head else 0)
            witnessed = 0
            if self._signing_key is not None and self.refusal is None:
                last = await repository.find_checkpoint(session, tree_size=None)
                witnessed = await self._witness(session, tree.size, last.tree_size if last else 0, 0)
        self._tree = tree
        self._witnessed = witnessed

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
