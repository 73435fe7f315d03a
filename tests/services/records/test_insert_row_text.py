"""Text in ingest's row type (migration 0011) arrives as it was sent, and a value PostgreSQL refuses in the
one statement sets aside only its own read.

Flags travel in the row as one text the statement turns back into text[]: joined by commas and split again,
a flag holding a comma became two flags and an empty flag none, so a read was stored other than accepted
(ReadIn lets any printable label through, and a message on READS need not come from our gateway)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import asyncpg
import pytest
from nats.aio.msg import Msg

from libs.common import metrics
from libs.common.contracts.reads import ReadImage, ReadIn
from libs.common.contracts.recognition import Recognition
from services.records.batches import Reject
from services.records.service import ReadRow
from tests.utils import records_ingest
from tests.utils.image_samples import png
from tests.utils.records_ingest import ingest

pytestmark = pytest.mark.asyncio(loop_scope="session")

ODD_FLAGS = ["a,b", "", "NULL", 'say "hi"', "back\\slash", "{brace}", " spaced ", "plain", "ü,💡"]


def plain_read(**extra: Any) -> ReadIn:
    return records_ingest.plain_read(camera_id="cam-row-text", prefix="RX", **extra)


async def stored(system: Any, read_ids: list[str]) -> dict[str, asyncpg.Record]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT read_id::text, flags, raw_body, vehicle, our_model FROM records.reads "
            "WHERE read_id = ANY($1::uuid[])",
            read_ids,
        )
    finally:
        await conn.close()
    return {r["read_id"]: r for r in rows}


class TestInsertRowText:
    async def test_flags_are_stored_as_sent_whatever_they_hold(self, system: Any) -> None:
        odd = plain_read(flags=ODD_FLAGS, raw_body="𝔘𝔫𝔦 e\u0301 \u202eRTL\u202c \uffff")
        none = plain_read()
        await ingest(system, odd, none)
        found = await stored(system, [odd.read_id, none.read_id])
        assert found[odd.read_id]["flags"] == sorted(ODD_FLAGS)
        assert found[odd.read_id]["raw_body"] == odd.raw_body
        assert found[none.read_id]["flags"] == []

    @pytest.mark.parametrize(
        ("model_version", "char_confidences", "refusal"),
        [("crnn\x00test", [], "0x00"), ("crnn-test", [float("nan")], "json")],
        ids=["nul-text", "nan-in-jsonb"],
    )
    async def test_a_value_postgresql_refuses_sets_aside_its_read_alone(
        self, system: Any, model_version: str, char_confidences: list[float], refusal: str
    ) -> None:
        """Our own columns skip ReadIn's rules: a NUL in a text (a recognizer's model name) or a document
        that is not JSON (NaN written by json.dumps) fails the one statement whole, and halving stores every
        other read of the batch once and sets that read aside."""
        records = system.runtime("records")
        nc = records.bus.nc
        reads = [plain_read() for _ in range(5)]
        rows = [ReadRow(read=r, recognition_asked=True) for r in reads]
        rows[3].recognition = Recognition(
            plate=reads[3].plate or "",
            confidence=0.5,
            char_confidences=char_confidences,
            candidates=[],
            model_version=model_version,
            elapsed_ms=1.0,
        )
        origins = {id(row): Msg(nc, subject="x", data=row.read.model_dump_json().encode()) for row in rows}
        rejects: list[Reject] = []
        await records.ingest._store_isolating(rows, origins, rejects)
        assert [(r.msg, refusal in r.error.lower()) for r in rejects] == [(origins[id(rows[3])], True)]
        found = await stored(system, [r.read_id for r in reads])
        assert sorted(found) == sorted(r.read_id for i, r in enumerate(reads) if i != 3)
        await records.ingest._store_isolating(rows[:3], origins, rejects)  # a redelivery stores nothing more
        assert len(rejects) == 1 and len(await stored(system, [r.read_id for r in reads])) == 4

    async def test_a_read_twice_in_one_batch_is_stored_once_with_its_image_once(self, system: Any) -> None:
        """The one statement meets both copies (a resend fetched beside the first): ON CONFLICT DO NOTHING
        skips the second within the statement, and the images join only the copy stored."""
        image = ReadImage(kind="plate", content_type="image/png", data_b64=base64.b64encode(png()).decode())
        read = plain_read(images=[image])
        await ingest(system, read, read)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            reads = await conn.fetchval("SELECT count(*) FROM records.reads WHERE read_id = $1::uuid", read.read_id)
            images = await conn.fetchval(
                "SELECT count(*) FROM records.read_images WHERE read_id = $1::uuid", read.read_id
            )
        finally:
            await conn.close()
        assert (reads, images) == (1, 1)


class TestStoredCount:
    async def test_reads_committed_alone_are_counted_though_what_follows_fails(
        self, system: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The one statement commits; asking after a redelivered read's unpublished alerts is a second
        transaction. When that fails the batch is retried, and the retry finds every read stored: a read the
        statement committed is counted then, or never."""
        records = system.runtime("records")
        first = plain_read()
        await ingest(system, first)
        new = plain_read()

        async def outage(*_: Any) -> list[Any]:
            raise ConnectionResetError("PostgreSQL went away after the commit")

        counted = CountedHere(metrics.STORED)
        monkeypatch.setattr(metrics, "STORED", counted)
        with monkeypatch.context() as failing:
            failing.setattr(records.ingest.alerts, "unpublished", outage)
            with pytest.raises(ConnectionResetError):
                await ingest(system, first, new)  # a redelivery of `first`, fetched beside a new read
        await ingest(system, first, new)  # the consumer's retry
        assert len(await stored(system, [first.read_id, new.read_id])) == 2
        assert counted.here == 1


class CountedHere:
    """The stored-reads counter, also counting apart what this task adds (records' own consumer may store
    other tests' reads meanwhile, in other tasks)."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter
        self.task = asyncio.current_task()
        self.here = 0

    def inc(self, amount: float = 1) -> None:
        self.counter.inc(amount)
        if asyncio.current_task() is self.task:
            self.here += int(amount)
