"""ChangeRecorder: a change commits only with its persisted record, and a failed commit is recorded too."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from libs.common.audit_trail import ChangeRecorder
from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.errors import Unavailable

pytestmark = pytest.mark.asyncio(loop_scope="session")


def event() -> AuditEvent:
    return AuditEvent(
        event_type=EventType.ADMIN_CHANGE,
        actor=Actor(sub="test-change-recorder"),
        query={"subject": f"probe-{uuid.uuid4().hex[:8]}"},
    )


async def stored(system: Any, subject: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT payload FROM audit.access_records WHERE payload::jsonb -> 'query' ->> 'subject' = $1 ORDER BY seq",
            subject,
        )
    finally:
        await conn.close()
    return [json.loads(r["payload"]) for r in rows]


def recorder(system: Any) -> ChangeRecorder:
    rt = system.runtime("gateway")
    return ChangeRecorder(rt.uow, rt.audit)


class TestChangeRecorder:
    async def test_a_commit_that_fails_after_its_record_is_followed_by_a_not_committed_record(self, system) -> None:
        first = event()
        with pytest.raises(IntegrityError):
            async with recorder(system)(first) as change:
                # a deferred constraint fails only at COMMIT: after the record was confirmed
                await change.session.execute(
                    text("CREATE TEMP TABLE probe (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP")
                )
                await change.session.execute(text("INSERT INTO probe VALUES (1), (1)"))
        subject = first.query["subject"]
        for _ in range(200):
            records = await stored(system, subject)
            if len(records) == 2:
                break
            await asyncio.sleep(0.05)
        made, followed = records
        assert made["outcome"] == "granted" and made["details"]["recorded"] == "before_commit"
        assert followed["outcome"] == "not_committed"
        assert followed["details"] == {
            "record_of": first.event_id,
            "reason": "commit_failed",
            "error": "IntegrityError",
        }

    async def test_the_owner_completes_the_record_with_what_the_change_produced(self, system) -> None:
        first = event()
        async with recorder(system)(first) as change:
            change.complete(result_ids=["made-1"], details={"status": "active"})
        [made] = await stored(system, first.query["subject"])
        assert made["result_ids"] == ["made-1"]
        assert made["details"] == {"status": "active", "recorded": "before_commit"}


class TestAuditTrail:
    """The one way onto AUDIT: the gateway's accesses and the purge job's certificates both go through it."""

    async def test_a_recorded_access_is_confirmed_with_its_place_in_the_chain(self, system) -> None:
        sent = event()
        reply = await system.runtime("gateway").audit.record(sent)
        assert reply.event_id == sent.event_id and reply.seq > 0
        assert [r["query"] for r in await stored(system, sent.query["subject"])] == [sent.query]

    async def test_a_published_event_is_confirmed_once_the_writer_stores_it(self, system) -> None:
        trail = system.runtime("gateway").audit
        sent = event()
        await trail.publish(sent)
        await trail.publish(sent)  # a republish (the purge job's retry) is the same message: stored once
        confirmed = await trail.persisted(sent.event_id, wait_ms=5000)
        assert confirmed.event_id == sent.event_id
        assert len(await stored(system, sent.query["subject"])) == 1

    async def test_an_event_never_published_is_unavailable_after_the_wait_it_asked_for(self, system) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(Unavailable) as refused:
            await system.runtime("gateway").audit.persisted(str(uuid.uuid4()), wait_ms=200)
        assert refused.value.code == "audit_unavailable"
        assert loop.time() - started < 1.2  # its own wait, not the trail's default
