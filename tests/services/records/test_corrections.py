"""A correction adds the read's next version: the reply names it, and an old version refuses a second one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from libs.common.contracts.holds import CORRECTION_CREATE, CorrectionRequest
from libs.common.errors import Conflict, NotFound
from tests.services.gateway.test_alert_routes import listed_plate, raise_alert

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
    """A read's versions share one hit: the misread's (its alert rests on it) or the corrected plate's (B5)."""

    async def test_a_misread_hit_corrected_to_an_unlisted_plate_stays_a_hit_in_every_version(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        # the alert it raised, and the officer's verification of it, are evidence: the read is kept as a hit's
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC), "hotlist_hit": True}])
        bus = system.runtime("gateway").bus
        reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=plate(), **BY))
        assert await hotlist_hit(admin_db, reply.read_id) is True
        assert await hotlist_hit(admin_db, read.read_id) is True

    async def test_every_version_of_a_read_corrected_to_a_listed_plate_becomes_a_hit(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        # B5 caps by the flag: a version left unflagged would be purged under the corrected one (found in review)
        listed = "8" + uuid.uuid4().hex[:6].upper()
        await listed_plate(system, listed)
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
        bus = system.runtime("gateway").bus
        first = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=plate(), **BY))
        assert await hotlist_hit(admin_db, first.read_id) is False
        second = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=first.read_id, plate=listed, **BY))
        for version in (read.read_id, first.read_id, second.read_id):
            assert await hotlist_hit(admin_db, version) is True

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
            await conn.execute(
                "UPDATE records.hotlist_entries SET removed_at = now(), "
                "change_seq = nextval('records.hotlist_change_seq') WHERE plate = $1",
                gone,
            )
            await conn.execute(
                "UPDATE records.hotlist_entries SET expires_at = now(), "
                "change_seq = nextval('records.hotlist_change_seq') WHERE plate = $1",
                lapsed,
            )
        finally:
            await conn.close()
        bus = system.runtime("gateway").bus
        for fixed in (gone, lapsed):
            (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
            reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=fixed, **BY))
            assert await hotlist_hit(admin_db, reply.read_id) is False


async def alerts_of(admin_db: Any, read_id: str) -> list[dict[str, Any]]:
    conn = await admin_db()
    try:
        rows = await conn.fetch(
            "SELECT alert_id::text, listed_plate, published_at, body FROM records.alerts WHERE read_id = $1::uuid",
            read_id,
        )
    finally:
        await conn.close()
    return [{**dict(r), "body": json.loads(r["body"]) if isinstance(r["body"], str) else r["body"]} for r in rows]


class TestCorrectedToAListedPlate:
    """E1 for a correction: an officer who reads a listed plate off a misread's image raises its alert."""

    async def test_the_corrected_version_raises_one_alert_for_its_plate(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        listed = "8" + uuid.uuid4().hex[:6].upper()
        await listed_plate(system, listed)
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
        bus = system.runtime("gateway").bus
        reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=listed, **BY))
        assert len(reply.alert_ids) == 1
        (alert,) = await alerts_of(admin_db, reply.read_id)
        assert alert["alert_id"] == reply.alert_ids[0] and alert["listed_plate"] == listed
        body = alert["body"]
        # the officer's text, marked as theirs; the camera's confidence was for the misread, so none is shown
        assert (body["read_plate"], body["matched_origin"], body["confidence"]) == (listed, "correction", None)
        assert body["read_id"] == reply.read_id and body["camera_id"] == read.camera_id
        assert body["images"] == [{"kind": "plate", "href": f"/v1/alerts/{alert['alert_id']}/image"}]
        assert alert["published_at"] is not None  # on ALERTS, as a camera's hit is
        assert await alerts_of(admin_db, read.read_id) == []

    async def test_a_plate_the_misread_already_alerted_on_raises_no_second_alert(
        self, system: Any, admin_db: Any
    ) -> None:
        # the camera read a look-alike of the listed plate: that alert (and its verification) stands for the read
        listed = "8" + uuid.uuid4().hex[:6].upper().replace("8", "C").replace("B", "C")
        await listed_plate(system, listed)
        raised = await raise_alert(system, "B" + listed[1:])
        bus = system.runtime("gateway").bus
        reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=raised["read_id"], plate=listed, **BY))
        assert reply.alert_ids == []
        assert await alerts_of(admin_db, reply.read_id) == []
        # corrected once more, to a plate on another list: that one is new to the read, so it alerts
        other = "8" + uuid.uuid4().hex[:6].upper()
        await listed_plate(system, other)
        again = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=reply.read_id, plate=other, **BY))
        assert [a["listed_plate"] for a in await alerts_of(admin_db, again.read_id)] == [other]

    async def test_an_unlisted_correction_raises_nothing(self, system: Any, store_reads: Any, admin_db: Any) -> None:
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
        bus = system.runtime("gateway").bus
        reply = await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=plate(), **BY))
        assert reply.alert_ids == [] and await alerts_of(admin_db, reply.read_id) == []
