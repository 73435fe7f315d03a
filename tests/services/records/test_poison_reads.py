"""Poison on READS, published straight onto the bus past the gateway: the good reads beside it are stored,
the bad ones are kept in DEADLETTER, and records keeps consuming."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common import deadletter
from libs.common.audit_trail import AuditTrail
from libs.common.contracts.reads import BUNDLE_HEADER
from libs.common.streams import RECORDS_READS, reads_subject
from services.cli.deadletter import Operator, list_dead_letters, replay_dead_letter
from services.cli.stack import DEV_AGENCY

pytestmark = pytest.mark.asyncio(loop_scope="session")
SUBJECT = reads_subject(DEV_AGENCY, "poison-cam")
OPERATOR = Operator.checked("Dana Reyes", "4471", "a fixed bug left reads in DEADLETTER")


def read(**update: Any) -> dict[str, Any]:
    """A valid read as the gateway publishes it, changed by `update`."""
    body = {
        "read_id": str(uuid.uuid4()),
        "agency": DEV_AGENCY,
        "camera_id": "poison-cam",
        "captured_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "plate": "7POI123",
        "vehicle": {"type": "SUV"},
    }
    return {**body, **update}


async def publish(system: Any, body: bytes, *, bundle: int = 0) -> None:
    headers = {BUNDLE_HEADER: str(bundle)} if bundle else None
    await system.runtime("gateway").bus.publish_durable(SUBJECT, body, msg_id=str(uuid.uuid4()), headers=headers)


async def stored(system: Any, read_ids: list[str], *, timeout: float = 15.0) -> set[str]:
    """Which of these reads records holds, once all are there or the time is up."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(int(timeout / 0.1)):
            rows = await conn.fetch("SELECT read_id::text FROM records.reads WHERE read_id::text = ANY($1)", read_ids)
            if len(rows) == len(read_ids):
                break
            await asyncio.sleep(0.1)
        return {r["read_id"] for r in rows}
    finally:
        await conn.close()


async def dead_letters_naming(system: Any, marker: str, count: int, *, timeout: float = 15.0) -> list[dict[str, Any]]:
    """The dead letters whose body holds `marker`, once there are `count` of them or the time is up.

    Read straight from the stream, as the test's own inspection: `show_dead_letter` would record an
    operator's access for every letter at every poll (tests/services/cli/test_deadletter_command.py)."""
    js = system.runtime("gateway").bus.js
    found: list[dict[str, Any]] = []
    for _ in range(int(timeout / 0.1)):
        found = []
        for item in await list_dead_letters(js, limit=200):
            msg = await js.get_msg("DEADLETTER", item["seq"])
            headers = dict(msg.headers or {})
            body = (msg.data or b"").decode(errors="replace")
            if marker in body:
                found.append(
                    {
                        **item,
                        "error": headers.get(deadletter.ERROR, ""),
                        "origin_subject": headers.get(deadletter.ORIGIN_SUBJECT),
                        "headers": headers,
                        "body": body,
                    }
                )
        if len(found) >= count:
            break
        await asyncio.sleep(0.1)
    return found


class TestABundleWithBadReads:
    async def test_the_good_reads_are_stored_and_each_bad_one_is_dead_lettered_alone(self, system) -> None:
        marker = uuid.uuid4().hex
        good = [read(plate="7GOOD01"), read(plate="7GOOD02")]
        bad = [
            read(vehicle={"type": f"SUV\x00{marker}"}),  # PostgreSQL refuses NUL
            read(captured_at="9999-12-15T10:00:00-05:00", plate_raw=marker),  # no partition, no purge
            read(confidence=7, plate_raw=marker),  # not a read by the contract
            read(heading=1e300, plate_raw=marker),  # a real column overflows: only PostgreSQL says so
        ]
        reads = [good[0], *bad, good[1]]
        await publish(system, json.dumps({"reads": reads}).encode(), bundle=len(reads))

        assert await stored(system, [r["read_id"] for r in good]) == {r["read_id"] for r in good}
        letters = await dead_letters_naming(system, marker, len(bad))
        assert len(letters) == len(bad)
        for letter in letters:
            headers = letter["headers"]
            assert letter["origin"] == f"READS/{RECORDS_READS.config.durable_name}"
            assert headers[deadletter.ORIGIN_SUBJECT] == SUBJECT
            assert BUNDLE_HEADER not in headers  # each kept as a lone read: a replay sends it alone
            assert letter["error"]
            assert json.loads(letter["body"])["read_id"] in {r["read_id"] for r in bad}
        assert not await stored(system, [r["read_id"] for r in bad], timeout=0.1)

    async def test_an_oversized_read_is_stored_or_kept_never_lost(self, system) -> None:
        marker = uuid.uuid4().hex
        huge = read(plate_raw=marker + "X" * 200_000, vehicle={f"k{n}": "v" * 1000 for n in range(200)})
        good = read()
        await publish(system, json.dumps({"reads": [huge, good]}).encode(), bundle=2)
        assert await stored(system, [good["read_id"]]) == {good["read_id"]}
        kept = await stored(system, [huge["read_id"]], timeout=1) or await dead_letters_naming(system, marker, 1)
        assert kept


class TestMessagesThatAreNoRead:
    async def test_garbage_and_a_nul_content_type_are_dead_lettered_and_records_keeps_going(self, system) -> None:
        marker = uuid.uuid4().hex
        await publish(system, f"not a read {marker}".encode())
        image = {"kind": "plate", "content_type": f"image/jpeg\x00{marker}", "data_b64": "/9j/2w=="}
        await publish(system, json.dumps(read(images=[image])).encode())
        await publish(system, json.dumps({"reads": "nothing", "marker": marker}).encode(), bundle=3)
        after = read()
        await publish(system, json.dumps(after).encode())

        assert await stored(system, [after["read_id"]]) == {after["read_id"]}
        letters = await dead_letters_naming(system, marker, 3)
        assert len(letters) == 3
        assert all(letter["origin_subject"] == SUBJECT for letter in letters)


class TestReplay:
    async def test_a_replayed_read_is_stored_and_leaves_the_dead_letters(self, system) -> None:
        bus = system.runtime("gateway").bus
        kept = read()
        # as records sets one aside: the read was fine, what refused it (say, a bug) is fixed since
        await deadletter.dead_letter(
            bus,
            stream="READS",
            durable="records-reads",
            subject=SUBJECT,
            sequence=10**9 + int(uuid.uuid4().int % 10**6),
            deliveries=8,
            error="RuntimeError: a bug since fixed",
            body=json.dumps(kept).encode(),
        )
        (letter,) = await dead_letters_naming(system, kept["read_id"], 1)
        trail = AuditTrail(bus, persist_wait_ms=2000)
        result = await replay_dead_letter(bus.js, letter["seq"], trail=trail, operator=OPERATOR)
        assert result["replayed_to"] == SUBJECT
        assert result["stream"] == "READS"
        assert await stored(system, [kept["read_id"]]) == {kept["read_id"]}
        assert not await dead_letters_naming(system, kept["read_id"], 1, timeout=0.1)


class TestReadIdsSpelledOtherwise:
    async def test_a_read_id_not_in_postgresql_s_own_spelling_is_dead_lettered_not_taken_for_stored(
        self, system
    ) -> None:
        # records knows which reads a store inserted by the ids PostgreSQL writes back (lower case, dashes): an id
        # spelt otherwise was stored and then taken for one already there, so its alerts were never raised
        marker = uuid.uuid4().hex
        good = read(plate="7GOOD03")
        spelt = [
            read(read_id=str(uuid.uuid4()).upper(), plate_raw=marker),
            read(read_id="{" + str(uuid.uuid4()) + "}", plate_raw=marker),
            read(read_id=uuid.uuid4().hex, plate_raw=marker),
            read(read_id=f"not-an-id-{marker}", plate_raw=marker),
        ]
        reads = [good, *spelt]
        await publish(system, json.dumps({"reads": reads}).encode(), bundle=len(reads))

        assert await stored(system, [good["read_id"]]) == {good["read_id"]}
        letters = await dead_letters_naming(system, marker, len(spelt))
        assert len(letters) == len(spelt)
        assert {letter["error"] for letter in letters} == {"read_id_not_canonical"}
        canonical = [str(uuid.UUID(r["read_id"].strip("{}"))) for r in spelt[:3]]
        assert not await stored(system, canonical, timeout=0.1)
