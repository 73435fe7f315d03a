"""One read id, two capture instants: the second is set aside in DEADLETTER as `read_id_conflict`, never stored
as a second sighting (the table's key is id and time, so nothing else would stop it)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.services.records.test_poison_reads import dead_letters_naming, publish, read, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def rows_of(system: Any, read_id: str) -> list[tuple[datetime, str | None]]:
    """Every stored row of this id: its capture time and raw plate."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        found = await conn.fetch(
            "SELECT captured_at, plate_raw FROM records.reads WHERE read_id = $1::uuid ORDER BY captured_at", read_id
        )
        return [(r["captured_at"], r["plate_raw"]) for r in found]
    finally:
        await conn.close()


def at(moment: datetime, **update: Any) -> dict[str, Any]:
    return read(captured_at=moment.isoformat(), **update)


class TestOneIdTwoInstants:
    @pytest.mark.parametrize("flags", [[], ["vendor_preview"]], ids=["plain", "preview"])
    async def test_a_resend_at_another_instant_is_set_aside_not_stored_twice(
        self, system: Any, flags: list[str]
    ) -> None:
        """The zone lost on a resend moves the time by hours; a preview goes through the store's transaction, a
        plain read through its one statement: both paths refuse it."""
        marker = uuid.uuid4().hex
        first_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=9)
        first = at(first_at, flags=flags, plate_raw="first")
        await publish(system, json.dumps(first).encode())
        assert await stored(system, [first["read_id"]]) == {first["read_id"]}

        again = {**first, "captured_at": (first_at + timedelta(hours=8)).isoformat(), "plate_raw": marker}
        await publish(system, json.dumps(again).encode())
        [letter] = await dead_letters_naming(system, marker, 1)
        assert letter["error"] == "read_id_conflict"
        assert json.loads(letter["body"])["read_id"] == first["read_id"]
        assert await rows_of(system, first["read_id"]) == [(first_at, "first")]

    async def test_the_same_read_sent_again_is_no_conflict(self, system: Any) -> None:
        moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        marker = uuid.uuid4().hex
        body = at(moment, plate_raw=marker)
        for _ in range(2):
            await publish(system, json.dumps(body).encode())
        later = read()  # published after both: once it is stored, both copies have been through the store
        await publish(system, json.dumps(later).encode())
        assert await stored(system, [later["read_id"]]) == {later["read_id"]}
        assert await rows_of(system, body["read_id"]) == [(moment, marker)]
        assert not await dead_letters_naming(system, marker, 1, timeout=0.5)

    async def test_two_instants_of_one_id_in_one_bundle_keep_the_first(self, system: Any) -> None:
        marker = uuid.uuid4().hex
        moment = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        first = at(moment, plate_raw="kept")
        second = {**first, "captured_at": (moment - timedelta(days=20)).isoformat(), "plate_raw": marker}
        other = read()
        await publish(system, json.dumps({"reads": [first, other, second]}).encode(), bundle=3)
        assert await stored(system, [first["read_id"], other["read_id"]]) == {first["read_id"], other["read_id"]}
        [letter] = await dead_letters_naming(system, marker, 1)
        assert letter["error"] == "read_id_conflict"
        assert await rows_of(system, first["read_id"]) == [(moment, "kept")]

    async def test_a_resend_a_day_earlier_is_set_aside(self, system: Any) -> None:
        """26 hours back (UTC+14 read as UTC-12) is the day's partition before or the one before that: the
        probe must reach them."""
        marker = uuid.uuid4().hex
        moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        first = at(moment, plate_raw="kept")
        await publish(system, json.dumps(first).encode())
        assert await stored(system, [first["read_id"]]) == {first["read_id"]}
        earlier = {**first, "captured_at": (moment - timedelta(hours=26)).isoformat(), "plate_raw": marker}
        await publish(system, json.dumps(earlier).encode())
        [letter] = await dead_letters_naming(system, marker, 1)
        assert letter["error"] == "read_id_conflict"
        assert await rows_of(system, first["read_id"]) == [(moment, "kept")]
