"""An OpenALPR preview that arrives after its final (the agent retrying it) is not stored beside the final.

End to end: the agent's posts through the gateway's OpenALPR route, READS, records' consumer, PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.streams import RECORDS_READS
from tests.services.gateway.test_alert_routes import listed_plate
from tests.services.gateway.test_first_path import wait_stored
from tests.services.records.test_retention import purge
from tests.utils.records_ingest import ingest, plain_read

pytestmark = pytest.mark.asyncio(loop_scope="session")


def group(plate: str, key: str, epoch_ms: int, *, preview: bool) -> dict[str, Any]:
    """One vehicle's group post: the preview and the final share the group's uuid and start."""
    return {
        "data_type": "alpr_group",
        "version": 2,
        "epoch_start": epoch_ms,
        "uuids": [key],
        "is_preview": preview,
        "best_plate_number": plate,
        "best_plate": {"plate": plate, "confidence": 90},
    }


async def push(system: Any, body: dict[str, Any]) -> dict[str, Any]:
    headers = {**system.camera, "Content-Type": "application/json"}
    posted = await system.gateway.post("/push/", content=json.dumps(body).encode(), headers=headers)
    assert posted.status_code == 202, posted.text
    return dict(posted.json())


async def consumed(system: Any, timeout: float = 15.0) -> None:
    """Wait until records has acked every READS message published so far (stored or skipped)."""
    js = system.runtime("gateway").bus.js
    last = (await js.stream_info(RECORDS_READS.stream)).state.last_seq
    deadline = asyncio.get_running_loop().time() + timeout
    while (await js.consumer_info(RECORDS_READS.stream, "records-reads")).ack_floor.stream_seq < last:
        assert asyncio.get_running_loop().time() < deadline, "records did not consume the reads in time"
        await asyncio.sleep(0.05)


async def stored_of(system: Any, plate: str) -> tuple[list[str], int]:
    """The reads stored with this plate (their ids) and the alerts raised on them."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        reads = await conn.fetch("SELECT read_id::text FROM records.reads WHERE plate = $1", plate)
        alerts = await conn.fetchval(
            "SELECT count(*) FROM records.alerts a JOIN records.reads r USING (read_id) WHERE r.plate = $1", plate
        )
        return sorted(r["read_id"] for r in reads), int(alerts)
    finally:
        await conn.close()


class TestALatePreview:
    async def test_a_preview_after_its_final_is_acked_and_not_stored(self, system: Any) -> None:
        plate = "7V" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, plate)
        key, epoch_ms = str(uuid.uuid4()), int(datetime.now(UTC).timestamp() * 1000)
        final = await push(system, group(plate, key, epoch_ms, preview=False))
        assert await wait_stored(system, final["read_ids"][0]) == 1

        late = await push(system, group(plate, key, epoch_ms, preview=True))  # the agent's retried preview
        await consumed(system)

        assert late["read_ids"] != final["read_ids"]
        assert await stored_of(system, plate) == (final["read_ids"], 1)  # one read, one alert, for one vehicle
        # the preview was acked, not left for redelivery or dead-lettered
        info = await system.runtime("gateway").bus.js.consumer_info(RECORDS_READS.stream, "records-reads")
        assert info.num_ack_pending == 0 and info.num_pending == 0

    async def test_a_preview_before_its_final_is_still_replaced_by_it(self, system: Any) -> None:
        plate = "7W" + uuid.uuid4().hex[:5].upper()
        key, epoch_ms = str(uuid.uuid4()), int(datetime.now(UTC).timestamp() * 1000)
        preview = await push(system, group(plate, key, epoch_ms, preview=True))
        assert await wait_stored(system, preview["read_ids"][0]) == 1
        final = await push(system, group(plate, key, epoch_ms, preview=False))
        await consumed(system)
        assert await stored_of(system, plate) == (final["read_ids"], 0)

    async def test_a_preview_and_its_final_in_one_batch_store_the_final(self, system: Any) -> None:
        for final_first in (False, True):
            preview = plain_read(flags=["vendor_preview"])
            final = plain_read(replaces=[preview.read_id])
            await ingest(system, *((final, preview) if final_first else (preview, final)))
            stored, _ = await stored_of(system, final.plate)
            assert stored == [final.read_id]
            assert (await stored_of(system, preview.plate))[0] == []

    async def test_the_purge_forgets_replaced_ids_past_the_cutoff(self, system: Any) -> None:
        preview = plain_read(flags=["vendor_preview"])
        final = plain_read(replaces=[preview.read_id])
        await ingest(system, final)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            old = str(uuid.uuid4())
            await conn.execute(
                "INSERT INTO records.replaced_previews (read_id, captured_at) VALUES ($1::uuid, $2)",
                old,
                datetime.now(UTC) - timedelta(days=362),
            )
            await purge(system)
            kept = await conn.fetch(
                "SELECT read_id::text FROM records.replaced_previews WHERE read_id = ANY($1::uuid[])",
                [old, preview.read_id],
            )
        finally:
            await conn.close()
        assert [r["read_id"] for r in kept] == [preview.read_id]


async def alerts_of_plate(system: Any, listed: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT alert_id::text, read_id::text, body FROM records.alerts WHERE listed_plate = $1", listed
        )
    finally:
        await conn.close()
    return [{**dict(r), "body": json.loads(r["body"]) if isinstance(r["body"], str) else r["body"]} for r in rows]


class TestAPreviewsAlert:
    """One vehicle, one alert: a preview that alerted hands its alert to the final that replaces it (found in
    review: the final raised a second alert, and the first pointed at the dropped preview, its image gone)."""

    async def test_the_final_takes_over_the_previews_alert_and_raises_none(self, system: Any) -> None:
        plate = "7X" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, plate)
        key, epoch_ms = str(uuid.uuid4()), int(datetime.now(UTC).timestamp() * 1000)
        preview = await push(system, group(plate, key, epoch_ms, preview=True))
        assert await wait_stored(system, preview["read_ids"][0]) == 1
        (first,) = await alerts_of_plate(system, plate)
        assert first["read_id"] == preview["read_ids"][0]
        final = await push(system, group(plate, key, epoch_ms, preview=False))
        await consumed(system)
        assert await stored_of(system, plate) == (final["read_ids"], 1)
        (handed,) = await alerts_of_plate(system, plate)
        assert handed["alert_id"] == first["alert_id"]  # the id officers already hold
        assert handed["read_id"] == handed["body"]["read_id"] == final["read_ids"][0]
        shown = await system.gateway.get(f"/v1/alerts/{handed['alert_id']}", headers=system.token("officer"))
        assert shown.status_code == 200 and shown.json()["read_id"] == final["read_ids"][0]

    async def test_two_previews_alerting_on_one_plate_keep_the_second_with_its_read(self, system: Any) -> None:
        listed = "7Y" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, listed)
        first, second = (plain_read(flags=["vendor_preview"]).model_copy(update={"plate": listed}) for _ in "ab")
        await ingest(system, first)
        await ingest(system, second)
        final = plain_read(replaces=[first.read_id, second.read_id]).model_copy(update={"plate": listed})
        await ingest(system, final)
        alerts = await alerts_of_plate(system, listed)
        # one handed to the final, the other left on its preview, which is kept so its alert points at a read
        assert sorted(a["read_id"] for a in alerts) == sorted([final.read_id, second.read_id])
        stored, _ = await stored_of(system, listed)
        assert stored == sorted([final.read_id, second.read_id])

    async def test_a_preview_and_its_final_in_one_batch_raise_one_alert_on_the_final(self, system: Any) -> None:
        # found in a second review: the preview's alert of the same batch was raised too, and kept the preview
        listed = "7Z" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, listed)
        preview = plain_read(flags=["vendor_preview"]).model_copy(update={"plate": listed})
        final = plain_read(replaces=[preview.read_id]).model_copy(update={"plate": listed})
        await ingest(system, preview, final)
        assert [a["read_id"] for a in await alerts_of_plate(system, listed)] == [final.read_id]
        assert (await stored_of(system, listed))[0] == [final.read_id]

    async def test_an_alert_on_a_plate_the_final_does_not_read_stays_with_its_preview(self, system: Any) -> None:
        # the final read another plate: moving the alert there would show an image that is not the listed plate
        listed = "7Q" + uuid.uuid4().hex[:5].upper()
        await listed_plate(system, listed)
        preview = plain_read(flags=["vendor_preview"]).model_copy(update={"plate": listed})
        await ingest(system, preview)
        final = plain_read(replaces=[preview.read_id])
        await ingest(system, final)
        assert [a["read_id"] for a in await alerts_of_plate(system, listed)] == [preview.read_id]
        assert (await stored_of(system, listed))[0] == [preview.read_id]  # kept: its alert points at it
        assert (await stored_of(system, final.plate))[0] == [final.read_id]
