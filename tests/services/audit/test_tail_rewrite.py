"""Records after the last checkpoint rewritten in the database, hashes recomputed: the AUDIT stream tells.

The chain and the signed checkpoints cannot see a rewrite of the unsigned end of the log; the messages
the records were made from can. Verification with the stream names the rewritten record, and a writer
started over such a log signs nothing (it would bless the rewrite). The rewriting runs on a copy of the
log in a scratch schema, and the restarted writer is a second writer over that copy, so the live log
other tests share stays intact.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import text

from libs.common.bus import Bus
from libs.common.contracts.audit import EventType
from libs.common.db import UnitOfWork, create_engine
from libs.common.streams import AUDIT_WRITER
from services.audit.flows import AuditWriter
from services.audit.ledger.chain import GENESIS_HASH, record_hash
from services.audit.settings import AuditSettings
from services.audit.verification import verify_database
from tests.utils.access_log import LOG_COLUMNS, copy_log, full_event, public_key, record

pytestmark = pytest.mark.asyncio(loop_scope="session")

SEARCHED, FORGED = "9SECRET", "0HARMLS"


@pytest_asyncio.fixture(loop_scope="session")
async def scratch(system: Any, admin_db: asyncpg.Connection) -> AsyncIterator[str]:
    """A copy of the log whose last three records, searches for SEARCHED, no checkpoint covers yet."""
    schema = await copy_log(system, admin_db, "tail_", records=3)
    try:
        for _ in range(3):
            await record(system, full_event(EventType.SEARCH, query={"plate": SEARCHED}))
        await _writer_acked(system)
        await admin_db.execute(
            f"INSERT INTO {schema}.access_records ({LOG_COLUMNS}) SELECT {LOG_COLUMNS} FROM audit.access_records "
            f"WHERE seq > (SELECT max(seq) FROM {schema}.access_records)"
        )
        assert await _last_seq(admin_db, schema) > await _signed(admin_db, schema)
        yield schema
    finally:
        await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


async def _writer_acked(system: Any) -> None:
    """Wait until the audit writer's acknowledgements of what it stored reached the stream."""
    js = system.runtime("audit").bus.js
    for _ in range(100):
        info = await js.consumer_info(AUDIT_WRITER.stream, AUDIT_WRITER.config.durable_name or "")
        if info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.05)


async def _signed(admin_db: asyncpg.Connection, schema: str) -> int:
    return int(await admin_db.fetchval(f"SELECT coalesce(max(tree_size), 0) FROM {schema}.checkpoints"))


async def _last_seq(admin_db: asyncpg.Connection, schema: str) -> int:
    return int(await admin_db.fetchval(f"SELECT max(seq) FROM {schema}.access_records"))


async def rewrite_unsigned(admin_db: asyncpg.Connection, schema: str) -> list[str]:
    """What someone with database rights does: the searched plate changed, every hash after it recomputed.

    Returns the event ids of the records whose payload changed, in seq order.
    """
    signed = await _signed(admin_db, schema)
    prev = await admin_db.fetchval(f"SELECT hash FROM {schema}.access_records WHERE seq = $1", signed)
    rows = await admin_db.fetch(
        f"SELECT seq, event_id, event_type, occurred_at, actor, payload FROM {schema}.access_records "
        "WHERE seq > $1 ORDER BY seq",
        signed,
    )
    changed = []
    for row in rows:
        payload = row["payload"].replace(SEARCHED, FORGED)
        if payload != row["payload"]:
            changed.append(row["event_id"])
        digest = record_hash(
            seq=row["seq"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            occurred_at=row["occurred_at"],
            actor=row["actor"],
            payload=payload,
            prev_hash=prev,
        )
        await admin_db.execute(
            f"UPDATE {schema}.access_records SET payload = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            payload,
            prev,
            digest,
            row["seq"],
        )
        prev = digest
    assert len(changed) >= 3
    return changed


async def verify(system: Any, schema: str, *, stream: bool) -> dict[str, Any]:
    return await verify_database(
        system.stack.pg.admin_dsn,
        public_keys=[public_key(system)],
        schema=schema,
        nats_url=system.stack.nats.url if stream else None,
    )


async def append_forged(admin_db: asyncpg.Connection, schema: str) -> str:
    """What someone with database rights does: a record no one made, chained after the last; its event id."""
    last = await admin_db.fetchrow(f"SELECT * FROM {schema}.access_records ORDER BY seq DESC LIMIT 1")
    seq, event_id = last["seq"] + 1, str(uuid.uuid4())
    payload = last["payload"].replace(last["event_id"], event_id)
    digest = record_hash(
        seq=seq,
        event_id=event_id,
        event_type=last["event_type"],
        occurred_at=last["occurred_at"],
        actor=last["actor"],
        payload=payload,
        prev_hash=last["hash"],
    )
    await admin_db.execute(
        f"INSERT INTO {schema}.access_records ({LOG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        seq,
        event_id,
        last["event_type"],
        last["occurred_at"],
        last["recorded_at"],
        last["actor"],
        payload,
        last["hash"],
        digest,
    )
    return event_id


@asynccontextmanager
async def restarted_writer(
    system: Any, schema: str, *, settings: AuditSettings | None = None, bus: Bus | None = None
) -> AsyncIterator[AuditWriter]:
    """A writer started over the scratch log, as a restarted audit service starts: load_tree first."""
    runtime = system.runtime("audit")
    engine = create_engine(
        system.stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), schema=schema
    )
    try:
        writer = AuditWriter(settings or runtime.settings, UnitOfWork(engine), bus or runtime.bus)
        await writer.load_tree()
        yield writer
    finally:
        await engine.dispose()


class TestVerificationWithTheStream:
    async def test_an_untouched_log_verifies(self, system: Any, scratch: str) -> None:
        report = await verify(system, scratch, stream=True)
        assert report["ok"], report
        assert report["stream_events_checked"] >= 3

    async def test_a_rewritten_unsigned_record_is_named(
        self, system: Any, admin_db: asyncpg.Connection, scratch: str
    ) -> None:
        changed = await rewrite_unsigned(admin_db, scratch)
        # the chain and the checkpoints alone cannot see it ...
        assert (await verify(system, scratch, stream=False))["ok"]
        # ... the message the first rewritten record was made from does
        report = await verify(system, scratch, stream=True)
        assert not report["ok"]
        failure = report["first_failure"]
        assert failure["reason"] == "stream_mismatch"
        assert failure["event_id"] == changed[0]
        assert "payload" in failure["detail"] and changed[0] in failure["detail"]


class TestARecordNoMessageMade:
    """A record appended in the database (new event id, hashes chained) was made from no AUDIT message."""

    async def test_verify_names_it(self, system: Any, admin_db: asyncpg.Connection, scratch: str) -> None:
        forged = await append_forged(admin_db, scratch)
        assert (await verify(system, scratch, stream=False))["ok"]  # the chain alone cannot see it
        report = await verify(system, scratch, stream=True)
        assert not report["ok"]
        failure = report["first_failure"]
        assert failure["reason"] == "stream_mismatch" and failure["event_id"] == forged
        assert failure["seq"] == await _last_seq(admin_db, scratch)
        assert "made from no message" in failure["detail"]

    async def test_a_restarted_writer_signs_nothing_over_it(
        self, system: Any, admin_db: asyncpg.Connection, scratch: str
    ) -> None:
        forged = await append_forged(admin_db, scratch)
        signed = await _signed(admin_db, scratch)
        async with restarted_writer(system, scratch) as writer:
            assert writer.refusal is not None and writer.refusal.event_id == forged
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, scratch) == signed

    async def test_it_is_caught_after_every_real_record_was_signed(
        self, system: Any, admin_db: asyncpg.Connection, scratch: str
    ) -> None:
        """The unsigned end is the forged record alone: no retained message names anything in it."""
        async with restarted_writer(system, scratch) as writer:
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, scratch) == await _last_seq(admin_db, scratch)
        forged = await append_forged(admin_db, scratch)
        assert (await verify(system, scratch, stream=True))["first_failure"]["event_id"] == forged
        async with restarted_writer(system, scratch) as writer:
            assert writer.refusal is not None and writer.refusal.event_id == forged
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, scratch) == await _last_seq(admin_db, scratch) - 1


class TestAStreamThatCannotBeRead:
    async def test_the_read_waits_an_interval_then_signing_resumes(
        self, system: Any, admin_db: asyncpg.Connection, scratch: str
    ) -> None:
        """A failed witness read is not repeated by the next batches under the chain-head lock."""
        runtime = system.runtime("audit")
        settings = runtime.settings.model_copy(update={"checkpoint_interval_s": 1.5})
        closed = await Bus.connect(system.stack.nats.url, name="audit-witness-closed")
        await closed.close()  # the writer's connection is gone: every read of the stream fails
        signed = await _signed(admin_db, scratch)
        async with restarted_writer(system, scratch, settings=settings, bus=closed) as writer:
            assert writer.refusal is None  # an unread stream is no tampering
            await writer.checkpoint_tick(force=True)
            writer.bus = runtime.bus  # readable again at once ...
            await writer.checkpoint_tick(force=True)
            # ... but not read again before the checkpoint interval has passed: nothing signed
            assert await _signed(admin_db, scratch) == signed
            await asyncio.sleep(1.6)
            await writer.checkpoint_tick(force=True)
            assert writer.refusal is None
        assert await _signed(admin_db, scratch) == await _last_seq(admin_db, scratch)


class TestAWriterRestartedOverTheLog:
    async def test_it_signs_nothing_over_a_rewritten_tail(
        self, system: Any, admin_db: asyncpg.Connection, scratch: str
    ) -> None:
        changed = await rewrite_unsigned(admin_db, scratch)
        signed = await _signed(admin_db, scratch)
        async with restarted_writer(system, scratch) as writer:
            assert writer.refusal is not None
            assert writer.refusal.event_id == changed[0]
            await writer.checkpoint_tick(force=True)
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, scratch) == signed
        report = await verify(system, scratch, stream=True)
        assert report["first_failure"]["reason"] == "stream_mismatch"

    async def test_it_signs_an_untouched_tail(self, system: Any, admin_db: asyncpg.Connection, scratch: str) -> None:
        async with restarted_writer(system, scratch) as writer:
            assert writer.refusal is None
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, scratch) == await _last_seq(admin_db, scratch)
        report = await verify(system, scratch, stream=True)
        assert report["ok"], report


class TestEveryRecordIsWitnessedAsStored:
    async def test_records_stored_escaped_or_unreadable_match_their_messages(self, system: Any) -> None:
        """The witness prepares a message as the writer did: escaped, re-timed and unreadable bodies match too."""
        import json
        import uuid

        from libs.common.streams import audit_subject
        from services.audit import repository
        from services.audit.repository.stream import acknowledged_events
        from services.audit.witness import first_difference, sent_events

        nul = full_event(EventType.SEARCH).model_dump(mode="json")
        nul["purpose"]["reason"] = "stolen\x00car"
        dated = {**full_event(EventType.SEARCH).model_dump(mode="json"), "occurred_at": "9999-12-31T23:00:00-05:00"}
        bus = system.runtime("gateway").bus
        for body in (json.dumps(nul).encode(), json.dumps(dated).encode(), b"no event \x00 at all", b""):
            await bus.publish_durable(audit_subject("search"), body, msg_id=str(uuid.uuid4()))
        await record(system, full_event(EventType.SEARCH))  # stored after the three, in stream order
        await _writer_acked(system)

        acknowledged = await acknowledged_events(system.runtime("audit").bus.js)
        sent = sent_events(acknowledged.messages)
        async with system.runtime("audit").uow() as session:
            records = await repository.records_made_from(session, event_ids=list(sent))
        compared = {r.event_id for r in records}
        assert {nul["event_id"], dated["event_id"]} <= compared
        assert any(event_id.startswith("unreadable-") for event_id in compared)
        assert first_difference(records, sent) is None
        # and every record the read covers, these included, was made from a message read (none added)
        from services.audit.verification import hold_against_stream

        async with system.runtime("audit").uow() as session:
            head = await session.scalar(text("SELECT max(seq) FROM access_records"))
            failure, _ = await hold_against_stream(session, system.runtime("audit").bus.js, log_end=int(head or 0))
        assert failure is None, failure


OLDER, LATER = 300, 7_300  # LATER > the witness's window (5,000) and its reorder allowance (2,000) together


async def _published_in_order(system: Any, count: int, *, plate: str = "8ABC123") -> list[str]:
    """`count` searches published to AUDIT as the gateway publishes them, for the live writer to store; their ids."""
    from libs.common.batch_publish import Outgoing
    from libs.common.streams import audit_subject

    events = [full_event(EventType.SEARCH, query={"plate": plate}) for _ in range(count)]
    bus = system.runtime("gateway").bus
    for first in range(0, count, 500):
        await bus.publish_durable_many(
            [
                Outgoing(audit_subject(e.event_type.value), e.model_dump_json().encode(), msg_id=e.event_id)
                for e in events[first : first + 500]
            ]
        )
    return [e.event_id for e in events]


async def _all_acked(system: Any) -> None:
    js = system.runtime("audit").bus.js
    for _ in range(600):
        info = await js.consumer_info(AUDIT_WRITER.stream, AUDIT_WRITER.config.durable_name or "")
        if info.num_pending == 0 and info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the audit writer did not store and acknowledge the published events in time")


async def store_last(admin_db: asyncpg.Connection, schema: str, event_ids: list[str]) -> None:
    """The log as a writer that died holding these events leaves it: their records stored after every later one.

    The redelivered batch lands after records of thousands of later messages (a peer stored them within the
    ack wait); the records from the first of them on are chained again in that order, none signed yet.
    """
    moved = set(event_ids)
    first = int(
        await admin_db.fetchval(f"SELECT min(seq) FROM {schema}.access_records WHERE event_id = ANY($1)", event_ids)
    )
    rows = await admin_db.fetch(
        f"SELECT {LOG_COLUMNS} FROM {schema}.access_records WHERE seq >= $1 ORDER BY seq", first
    )
    reordered = [r for r in rows if r["event_id"] not in moved] + [r for r in rows if r["event_id"] in moved]
    prev = await admin_db.fetchval(f"SELECT hash FROM {schema}.access_records WHERE seq = $1", first - 1)
    prev = prev or GENESIS_HASH  # the moved batch may open the log
    chained = []
    for seq, row in enumerate(reordered, start=first):
        digest = record_hash(
            seq=seq,
            event_id=row["event_id"],
            event_type=row["event_type"],
            occurred_at=row["occurred_at"],
            actor=row["actor"],
            payload=row["payload"],
            prev_hash=prev,
        )
        chained.append((seq, *(row[c] for c in LOG_COLUMNS.split(", ")[1:7]), prev, digest))
        prev = digest
    await admin_db.execute(f"DELETE FROM {schema}.checkpoints WHERE tree_size >= $1", first)
    await admin_db.execute(f"DELETE FROM {schema}.access_records WHERE seq >= $1", first)
    await admin_db.copy_records_to_table(
        "access_records", schema_name=schema, records=chained, columns=LOG_COLUMNS.split(", ")
    )


@pytest_asyncio.fixture(loop_scope="session", scope="class")
async def stored_before(system: Any) -> list[str]:
    """OLDER searches for SEARCHED, then LATER others, published and stored in stream order: the older ids."""
    older = await _published_in_order(system, OLDER, plate=SEARCHED)
    await _published_in_order(system, LATER)
    await _all_acked(system)
    return older


@pytest_asyncio.fixture(loop_scope="session")
async def reordered(system: Any, admin_db: asyncpg.Connection, stored_before: list[str]) -> AsyncIterator[str]:
    """A copy of the log whose OLDER records were stored after the LATER ones' (as a redelivered batch is)."""
    schema = await copy_log(system, admin_db, "order_", records=1)
    try:
        await _all_acked(system)
        await store_last(admin_db, schema, stored_before)
        yield schema
    finally:
        await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


class TestRecordsStoredOutOfStreamOrder:
    """A healthy system's reordering: a stopped writer's batch redelivered after its peer stored thousands more.

    The older records' messages lie before the witness's read, and the records after the first of thousands
    of messages into it: they are held against the messages before the read, not called added.
    """

    async def test_it_verifies_and_is_signed(self, system: Any, admin_db: asyncpg.Connection, reordered: str) -> None:
        report = await verify(system, reordered, stream=True)
        assert report["ok"], report
        async with restarted_writer(system, reordered) as writer:
            assert writer.refusal is None, writer.refusal
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, reordered) == await _last_seq(admin_db, reordered)

    async def test_a_record_appended_after_it_is_still_named(
        self, system: Any, admin_db: asyncpg.Connection, reordered: str
    ) -> None:
        forged = await append_forged(admin_db, reordered)
        signed = await _signed(admin_db, reordered)
        failure = (await verify(system, reordered, stream=True))["first_failure"]
        assert failure["event_id"] == forged and "made from no message" in failure["detail"]
        async with restarted_writer(system, reordered) as writer:
            assert writer.refusal is not None and writer.refusal.event_id == forged
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, reordered) == signed

    async def test_a_rewritten_record_of_it_is_still_named(
        self, system: Any, admin_db: asyncpg.Connection, reordered: str
    ) -> None:
        changed = await rewrite_unsigned(admin_db, reordered)
        signed = await _signed(admin_db, reordered)
        failure = (await verify(system, reordered, stream=True))["first_failure"]
        assert failure["reason"] == "stream_mismatch" and failure["event_id"] == changed[0]
        assert "payload" in failure["detail"]
        async with restarted_writer(system, reordered) as writer:
            assert writer.refusal is not None and writer.refusal.event_id == changed[0]
            await writer.checkpoint_tick(force=True)
        assert await _signed(admin_db, reordered) == signed
