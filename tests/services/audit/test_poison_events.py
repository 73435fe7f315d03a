"""Poison on AUDIT, published straight onto the bus past the gateway's checks: every access record is stored
(escaped where it cannot be stored as sent), the waiting caller is answered, later events are written, the
log verifies, and nothing of AUDIT is dead-lettered."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from libs.common.contracts.audit import PERSISTED, EventType, PersistedQuery, PersistedReply
from libs.common.streams import audit_subject
from services.audit.ledger import escaping
from services.audit.service import UNREADABLE_EVENT_TYPE, prepare_events
from services.audit.verification import verify_database
from services.cli.deadletter import list_dead_letters
from tests.utils.access_log import full_event, public_key, record

pytestmark = pytest.mark.asyncio(loop_scope="session")


def event_body(**changes: Any) -> dict[str, Any]:
    """A full event as JSON-ready data, so a test can put in it what the contract would refuse."""
    body = full_event(EventType.SEARCH).model_dump(mode="json")
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = body
        for name in parents:
            node = node[name]
        node[leaf] = value
    return body


async def publish(system: Any, body: bytes) -> None:
    bus = system.runtime("gateway").bus
    await bus.publish_durable(audit_subject("search"), body, msg_id=str(uuid.uuid4()))


async def persisted(system: Any, event_id: str) -> PersistedReply:
    """What the gateway waits for before it answers: the audit service's confirmation."""
    query = PersistedQuery(event_id=event_id, wait_ms=10_000)
    return await system.runtime("gateway").bus.call(PERSISTED, query, timeout=12)


class TestTheWriterSurvivesPoison:
    async def test_nul_surrogates_and_garbage_are_stored_and_the_log_still_verifies(self, system, admin_db) -> None:
        nul = event_body(purpose__reason="stolen\x00car", actor__name="Pat\x00Doe")
        surrogate = event_body(query__plate="8AB\ud800C")
        literal = event_body(purpose__reason="a written-out \\u0000 is text, not NUL")
        controls = event_body(purpose__case_number="SJ-1\x01", actor__name="Pat\nDoe")  # the contract refuses
        dated = event_body(occurred_at="9999-12-31T23:00:00-05:00")
        not_utf8 = json.dumps(event_body(actor__sub="SUB")).encode().replace(b"SUB", b"\xff\xfe")
        named_garbage = {"event_id": str(uuid.uuid4()), "hello": "not an event\x00"}
        for body in (nul, surrogate, literal, controls, dated, named_garbage):
            await publish(system, json.dumps(body).encode())  # ensure_ascii: a lone surrogate as \\ud800
        await publish(system, not_utf8)
        await publish(system, b"garbage \x00 that is no JSON at all")
        await publish(system, b"[" * 100_000)

        # each caller is answered: its record is stored under the id it sent
        sent = [nul, surrogate, literal, controls, dated, named_garbage, json.loads(not_utf8.decode("latin-1"))]
        for body in sent:
            assert (await persisted(system, body["event_id"])).seq > 0
        after = full_event(EventType.READ_VIEW)
        reply = await record(system, after)  # the writer moved on

        rows = {
            r["event_id"]: r
            for r in await admin_db.fetch(
                "SELECT event_id, event_type, actor, payload FROM audit.access_records WHERE seq <= $1", reply.seq
            )
        }
        stored_nul = json.loads(rows[nul["event_id"]]["payload"])
        assert stored_nul[escaping.MARK]["fields"] == ["actor.name", "purpose.reason"]
        assert escaping.unescape_text(stored_nul["purpose"]["reason"]) == "stolen\x00car"
        assert escaping.unescape_text(json.loads(rows[nul["event_id"]]["actor"])["name"]) == "Pat\x00Doe"
        assert json.loads(rows[surrogate["event_id"]]["payload"])["query"]["plate"] == "8AB\\ud800C"
        stored_literal = json.loads(rows[literal["event_id"]]["payload"])
        assert escaping.MARK not in stored_literal  # stored as sent
        assert stored_literal["purpose"]["reason"] == literal["purpose"]["reason"]
        stored_controls = rows[controls["event_id"]]
        assert stored_controls["event_type"] == "search"  # still an event of its type, escaped
        assert json.loads(stored_controls["payload"])[escaping.MARK]["fields"] == ["actor.name", "purpose.case_number"]
        assert json.loads(stored_controls["actor"])["name"] == "Pat\\u000aDoe"
        assert "occurred_at_as_sent" in json.loads(rows[dated["event_id"]]["payload"])["details"]
        assert rows[named_garbage["event_id"]]["event_type"] == UNREADABLE_EVENT_TYPE
        unreadable = [json.loads(r["payload"]) for r in rows.values() if r["event_type"] == UNREADABLE_EVENT_TYPE]
        bodies = [u["unreadable"]["body"] for u in unreadable]
        assert "garbage \\u0000 that is no JSON at all" in bodies
        assert any(b.startswith("[[[[") for b in bodies)

        report = await verify_database(
            system.stack.pg.admin_dsn, public_keys=[public_key(system)], nats_url=system.stack.nats.url
        )
        assert report["ok"], report
        assert report["stream_events_checked"]
        letters = await list_dead_letters(system.runtime("gateway").bus.js, limit=1000)
        assert not [letter for letter in letters if letter["origin"].startswith("AUDIT/")]


class TestPreparation:
    async def test_the_same_body_is_escaped_the_same_way_every_time(self) -> None:
        body = json.dumps(event_body(purpose__reason="a\x00\\b")).encode()
        first, again = prepare_events([body]), prepare_events([body])
        assert first == again
        assert json.loads(first[0].payload)["purpose"]["reason"] == "a\\u0000\\\\b"
