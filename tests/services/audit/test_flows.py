"""The AUDIT writer: each event stored once, in order, with its A1 fields, chained and checkpointed."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from libs.common.contracts.audit import EventType
from libs.common.streams import audit_subject
from services.audit.ledger.chain import ChainLink
from services.audit.ledger.checkpoints import Checkpoint, verify_checkpoint
from services.audit.ledger.merkle import MerkleAccumulator
from tests.utils.access_log import OFFICER, PURPOSE, full_event, public_key, record

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestDuplicateDelivery:
    async def test_the_same_event_published_twice_is_stored_once(self, system, admin_db) -> None:
        event = full_event(EventType.SEARCH)
        bus = system.runtime("gateway").bus
        body = event.model_dump_json().encode()
        subject = audit_subject(event.event_type.value)
        assert await bus.publish_durable(subject, body, msg_id=event.event_id) is False
        # the stream's own de-duplication says so for the same message id ...
        assert await bus.publish_durable(subject, body, msg_id=event.event_id) is True
        # ... and past it (a new message id, as after the duplicate window) the writer still stores it once
        assert await bus.publish_durable(subject, body, msg_id=f"{event.event_id}-again") is False
        await record(system, full_event(EventType.SEARCH))  # stored in order after both copies
        rows = await admin_db.fetch("SELECT seq FROM audit.access_records WHERE event_id = $1", event.event_id)
        assert len(rows) == 1

    async def test_persisted_reply_names_the_stored_record(self, system, admin_db) -> None:
        event = full_event(EventType.READ_VIEW)
        reply = await record(system, event)
        row = await admin_db.fetchrow("SELECT seq, hash FROM audit.access_records WHERE event_id = $1", event.event_id)
        assert (reply.seq, reply.record_hash) == (row["seq"], row["hash"])


class TestEveryEventTypeCarriesItsFields:
    async def test_each_type_is_stored_with_the_a1_fields(self, system, admin_db) -> None:
        events = [full_event(t, query={"plate": f"T{n:03d}", "type": t.value}) for n, t in enumerate(EventType)]
        for event in events:
            await record(system, event)
        for event in events:
            row = await admin_db.fetchrow(
                "SELECT event_type, occurred_at, actor, payload FROM audit.access_records WHERE event_id = $1",
                event.event_id,
            )
            assert row is not None, event.event_type
            assert row["event_type"] == event.event_type.value
            assert row["occurred_at"] == event.occurred_at
            actor = json.loads(row["actor"])
            assert {k: actor[k] for k in ("name", "badge", "agency", "sub")} == {
                "name": OFFICER.name,
                "badge": OFFICER.badge,
                "agency": OFFICER.agency,
                "sub": OFFICER.sub,
            }
            payload = json.loads(row["payload"])
            assert payload["purpose"] == PURPOSE.model_dump(mode="json")
            assert payload["client_address"] == "198.51.100.23"
            assert payload["query"]["type"] == event.event_type.value
            assert payload["result_count"] == 2
            assert payload["result_ids"] == ["read-1", "read-2"]


class TestChainAndCheckpoints:
    async def test_records_chain_in_order(self, system, admin_db) -> None:
        first, second = full_event(EventType.SEARCH), full_event(EventType.SEARCH)
        a = await record(system, first)
        b = await record(system, second)
        assert b.seq == a.seq + 1
        prev = await admin_db.fetchval("SELECT prev_hash FROM audit.access_records WHERE seq = $1", b.seq)
        assert prev == a.record_hash

    async def test_a_checkpoint_signs_the_root_of_the_stored_records(self, system, admin_db) -> None:
        await record(system, full_event(EventType.EXPORT))
        await system.runtime("audit").writer.checkpoint_tick(force=True)
        row = await admin_db.fetchrow("SELECT * FROM audit.checkpoints ORDER BY tree_size DESC LIMIT 1")
        checkpoint = Checkpoint(row["tree_size"], row["root_hash"], row["signed_at"], row["key_id"], row["signature"])
        assert verify_checkpoint(public_key(system), checkpoint)
        tree = MerkleAccumulator()
        for (h,) in await admin_db.fetch(
            "SELECT hash FROM audit.access_records WHERE seq <= $1 ORDER BY seq", checkpoint.tree_size
        ):
            tree.append(bytes.fromhex(h))
        assert tree.size == checkpoint.tree_size
        assert tree.root().hex() == checkpoint.root_hash

    async def test_the_writer_signs_every_n_records(self, system, admin_db) -> None:
        writer = system.runtime("audit").writer
        before = await admin_db.fetchval("SELECT coalesce(max(tree_size), 0) FROM audit.checkpoints")
        every = writer.settings.checkpoint_every
        writer.settings.checkpoint_every = 3
        try:
            for _ in range(3):
                last = await record(system, full_event(EventType.ALERT_VIEW))
        finally:
            writer.settings.checkpoint_every = every
        after = await admin_db.fetchval("SELECT max(tree_size) FROM audit.checkpoints")
        assert before < after <= last.seq

    async def test_the_tree_is_rebuilt_from_the_database_at_start(self, system, admin_db) -> None:
        await system.stop_service("audit")
        await system.start_service("audit")
        writer = system.runtime("audit").writer
        head = await admin_db.fetchval("SELECT max(seq) FROM audit.access_records")
        assert writer._tree is not None and writer._tree.size == head
        event_id = str(uuid.uuid4())
        reply = await record(system, full_event(EventType.SEARCH, event_id=event_id))
        assert reply.seq == head + 1
        link = await admin_db.fetchrow(
            "SELECT seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash "
            "FROM audit.access_records WHERE event_id = $1",
            event_id,
        )
        assert ChainLink(*link).recomputed_hash() == link["hash"]


class TestCheckpointTiming:
    async def test_a_quiet_period_gets_its_checkpoint_after_t_seconds(self, system, admin_db) -> None:
        writer = system.runtime("audit").writer
        await writer.checkpoint_tick(force=True)
        reply = await record(system, full_event(EventType.HOLD_CHANGE))
        await writer.checkpoint_tick()  # too soon, too few: nothing signed
        assert await admin_db.fetchval("SELECT max(tree_size) FROM audit.checkpoints") < reply.seq
        interval = writer.settings.checkpoint_interval_s
        writer.settings.checkpoint_interval_s = 0.01
        # the record and both ticks can all land within 10 ms of the forced checkpoint on an idle machine
        await asyncio.sleep(0.05)
        try:
            await writer.checkpoint_tick()
        finally:
            writer.settings.checkpoint_interval_s = interval
        assert await admin_db.fetchval("SELECT max(tree_size) FROM audit.checkpoints") >= reply.seq


class TestPreparation:
    async def test_prepared_events_carry_the_canonical_actor_and_payload(self) -> None:
        from services.audit.ledger.chain import canonical_json
        from services.audit.service import prepare_events

        event = full_event(EventType.EXPORT, query={"plate": "7ABC123"})
        (prepared,) = prepare_events([event.model_dump_json().encode()])
        assert prepared.actor == canonical_json(event.actor.model_dump(mode="json"))
        payload = json.loads(prepared.payload)
        assert payload["query"] == {"plate": "7ABC123"}
        assert not {"event_id", "event_type", "occurred_at", "actor"} & set(payload)

    async def test_a_body_that_is_no_event_is_kept_not_dropped(self) -> None:
        from datetime import UTC, datetime

        from services.audit.service import UNREADABLE_EVENT_TYPE, prepare_events

        published = datetime(2026, 12, 1, tzinfo=UTC)
        (kept,) = prepare_events([b'{"event_type": "search"}'], [(41, published)])
        assert (kept.event_type, kept.occurred_at) == (UNREADABLE_EVENT_TYPE, published)
        assert json.loads(kept.payload)["unreadable"]["body"] == '{"event_type": "search"}'
