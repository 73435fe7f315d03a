"""A correction adds the read's next version: the reply names it, and an old version refuses a second one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from libs.common.contracts.holds import CORRECTION_CREATE, CorrectionRequest
from libs.common.errors import Conflict, NotFound
from tests.services.gateway.test_alert_routes import listed_plate

pytestmark = pytest.mark.asyncio(loop_scope="session")


BY = {"reason": "The image shows an 8 where the reader gave a B", "corrected_by": "officer-1"}


def plate() -> str:
    return "C" + uuid.uuid4().hex[:6].upper()


class TestCorrectionEndpoint:
    async def test_the_reply_is_the_new_version_and_an_old_one_names_the_newest(
        self, system: Any, store_reads: Any
    ) -> None:
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
        bus = system.runtime("gateway").bus
        fixed = plate()
        reply = await bus.call(
            CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=fixed, state="nv", **BY)
        )
        assert (reply.supersedes, reply.version, reply.plate, reply.state) == (read.read_id, 2, fixed, "NV")
        assert reply.read_id != read.read_id
        with pytest.raises(Conflict) as refused:
            await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=plate(), **BY))
        assert refused.value.code == "read_superseded" and refused.value.details["newest"] == reply.read_id

    async def test_an_unknown_read_cannot_be_corrected(self, system: Any) -> None:
        bus = system.runtime("gateway").bus
        with pytest.raises(NotFound) as refused:
            await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=str(uuid.uuid4()), plate=plate(), **BY))
        assert refused.value.code == "read_not_found"


async def hotlist_hit(admin_db: Any, read_id: str) -> bool:
    conn = await admin_db()
    try:
        return await conn.fetchval("SELECT hotlist_hit FROM records.reads WHERE read_id = $1::uuid", read_id)
    finally:
        await conn.close()


class TestCorrectedHotlistHit:
    """The corrected version's hit is the corrected plate's against the lists now, not the misread's (B5)."""

    async def test_a_misread_hit_corrected_to_an_unlisted_plate_is_no_longer_a_hit(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC), "hotlist_hit": True}])
        bus = system.runtime("gateway").bus
        reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=plate(), **BY))
        assert await hotlist_hit(admin_db, reply.read_id) is False
        assert await hotlist_hit(admin_db, read.read_id) is True  # the original version keeps what it was

    @pytest.mark.parametrize("listed", ["exact", "lookalike", "wildcard"])
    async def test_a_read_corrected_to_a_listed_plate_is_a_hit(
        self, system: Any, store_reads: Any, admin_db: Any, listed: str
    ) -> None:
        fixed = "8" + uuid.uuid4().hex[:6].upper().replace("B", "C").replace("8", "C")
        on_list = {"exact": fixed, "lookalike": "B" + fixed[1:], "wildcard": fixed[:5] + "*"}[listed]
        await listed_plate(system, on_list)
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
        bus = system.runtime("gateway").bus
        reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=fixed, **BY))
        assert await hotlist_hit(admin_db, reply.read_id) is True

    async def test_a_removed_or_expired_entry_is_no_hit(self, system: Any, store_reads: Any, admin_db: Any) -> None:
        gone, lapsed = plate(), plate()
        for listed in (gone, lapsed):
            await listed_plate(system, listed)
        conn = await admin_db()
        try:
            await conn.execute("UPDATE records.hotlist_entries SET removed_at = now() WHERE plate = $1", gone)
            await conn.execute("UPDATE records.hotlist_entries SET expires_at = now() WHERE plate = $1", lapsed)
        finally:
            await conn.close()
        bus = system.runtime("gateway").bus
        for fixed in (gone, lapsed):
            (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC), "hotlist_hit": True}])
            reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=fixed, **BY))
            assert await hotlist_hit(admin_db, reply.read_id) is False
