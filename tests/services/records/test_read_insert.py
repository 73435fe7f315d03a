"""Records' read insert: one array of the insert's own row type (migration 0011) stores every column once."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.reads import Box, Candidate, Point, ReadImage, ReadIn
from libs.common.contracts.recognition import Recognition
from libs.common.contracts.vehicles import normalize_vehicle
from services.records import repository
from services.records.flows import store_chunks
from services.records.repository.reads import INSERT_COLUMNS, READS_INSERT_TYPE
from services.records.service import ROW_COLUMNS, ReadRow
from tests.utils import records_ingest
from tests.utils.image_samples import png
from tests.utils.records_ingest import ingest

pytestmark = pytest.mark.asyncio(loop_scope="session")

JSONB_COLUMNS = (
    "candidates", "our_char_confidences", "our_candidates", "plate_box", "plate_polygon", "vehicle",
    "vehicle_attributes",
)  # fmt: skip


def full_row(now: datetime) -> ReadRow:
    """A read with every column the insert sends filled, ours beside the vendor's."""
    plate = f"RT{uuid.uuid4().hex[:5].upper()}"
    read = ReadIn(
        read_id=str(uuid.uuid4()),
        agency="CA0430000",
        camera_id="cam-insert",
        captured_at=now - timedelta(minutes=1),
        plate=plate,
        plate_raw=plate.lower(),
        state="CA",
        confidence=0.87,
        confidence_raw="87",
        candidates=[Candidate(plate=plate[:-1] + "8", confidence=0.4)],
        latitude=37.3382,
        longitude=-121.8863,
        location_from_camera=True,
        heading=271.5,
        plate_box=Box(x=1.5, y=2, width=30, height=12),
        plate_polygon=[Point(x=1, y=2), Point(x=31, y=2), Point(x=31, y=14), Point(x=1, y=14)],
        vehicle={"make": "bmw", "color": 'white, "pearl"'},
        vehicle_attributes=normalize_vehicle({"make": ("bmw", 0.9), "year": ("2016-2018", 0.4)}),
        vendor="openalpr",
        vendor_format="alprd",
        raw_body='{"quoted": "text, with a comma"}',
        flags=["vendor_preview"],
    )
    recognition = Recognition(
        plate=plate,
        confidence=0.93,
        char_confidences=[0.9] * len(plate),
        candidates=[Candidate(plate=plate, confidence=0.93)],
        model_version="crnn-test",
        elapsed_ms=3.0,
    )
    row = ReadRow(read=read, recognition=recognition, recognition_asked=True, hotlist_hit=True)
    row.extra_flags.append("recognizer_timeout")
    return row


def as_sent(column: str, value: Any) -> Any:
    """A column's value as the table returns it, in the form the row gave it."""
    if column in JSONB_COLUMNS and value is not None:
        return json.loads(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class TestReadInsert:
    async def test_every_column_is_stored_as_the_row_gives_it_and_once(self, system: Any) -> None:
        records = system.runtime("records")
        now = datetime.now(UTC)
        bare_read = ReadIn(
            read_id=str(uuid.uuid4()), agency="CA0430000", camera_id="cam-insert", captured_at=now, plate="RTBARE1"
        )
        row, bare = full_row(now), ReadRow(read=bare_read)  # bare: no documents, no flags, nothing of ours
        await records.ingest.ensure_partitions({repository.utc_day(now - timedelta(minutes=1))})
        columns = INSERT_COLUMNS
        async with records.uow() as session:
            assert await repository.insert_reads(session, [row, bare]) == {row.read.read_id, bare.read.read_id}
        async with records.uow() as session:  # the redelivery stores nothing
            assert await repository.insert_reads(session, [row]) == set()
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            found = await conn.fetch(
                f"SELECT {', '.join(columns)} FROM records.reads WHERE read_id = ANY($1::uuid[])",
                [row.read.read_id, bare.read.read_id],
            )
        finally:
            await conn.close()
        stored = sorted(found, key=lambda r: str(r["read_id"]) != bare.read.read_id)
        assert [str(r["read_id"]) for r in stored] == [bare.read.read_id, row.read.read_id]
        for sent, got in ((bare, stored[0]), (row, stored[1])):
            expected = dict(zip(INSERT_COLUMNS, sent.values(), strict=True))
            assert {c: as_sent(c, got[c]) for c in columns} == expected
        assert stored[1]["flags"] == ["recognizer_timeout", "vendor_preview"]
        assert stored[0]["candidates"] == "[]" and stored[0]["vehicle"] == "{}"

    async def test_the_insert_type_carries_reads_columns_under_their_own_types(self, system: Any) -> None:
        """Every attribute of the insert's row type is a reads column of the same type, but for documents
        (jsonb) and flags (text[]), which travel as text; a column added to reads needs a new version."""
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            attributes = await conn.fetch(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, "
                "format_type(c.atttypid, c.atttypmod) AS column_type FROM pg_attribute a "
                "LEFT JOIN pg_attribute c ON c.attrelid = 'records.reads'::regclass AND c.attname = a.attname "
                "AND NOT c.attisdropped WHERE a.attrelid = $1::regclass AND a.attnum > 0 ORDER BY a.attnum",
                f"records.{READS_INSERT_TYPE}",
            )
        finally:
            await conn.close()
        assert [a["attname"] for a in attributes] == list(INSERT_COLUMNS)
        carried = {"jsonb": "text", "text[]": "text"}
        assert [a["type"] for a in attributes] == [carried.get(a["column_type"], a["column_type"]) for a in attributes]


def plain_read(**extra: Any) -> ReadIn:
    return records_ingest.plain_read(camera_id="cam-insert", prefix="RS", **extra)


async def stored_rows(system: Any, read_ids: list[str]) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        reads = await conn.fetch(
            "SELECT read_id::text, has_image FROM records.reads WHERE read_id = ANY($1::uuid[]) ORDER BY 1", read_ids
        )
        images = await conn.fetch(
            "SELECT read_id::text, kind, data FROM records.read_images WHERE read_id = ANY($1::uuid[]) ORDER BY 1",
            read_ids,
        )
    finally:
        await conn.close()
    return reads, images


class TestIngestStore:
    async def test_a_batch_that_hits_nothing_stores_each_read_and_its_image_once(self, system: Any) -> None:
        image = ReadImage(kind="plate", content_type="image/png", data_b64=base64.b64encode(png()).decode())
        with_image, without = plain_read(images=[image]), plain_read()
        ids = sorted([with_image.read_id, without.read_id])
        await ingest(system, with_image, without)
        await ingest(system, with_image, without)  # the redelivery stores nothing more
        reads, images = await stored_rows(system, ids)
        assert [(r["read_id"], r["has_image"]) for r in reads] == sorted(
            [(with_image.read_id, True), (without.read_id, False)]
        )
        assert [(i["read_id"], i["kind"], bytes(i["data"])) for i in images] == [(with_image.read_id, "plate", png())]

    async def test_a_final_read_drops_the_preview_it_replaces(self, system: Any) -> None:
        preview = plain_read(flags=["vendor_preview"])
        await ingest(system, preview)
        final = plain_read(replaces=[preview.read_id])
        await ingest(system, final)
        reads, _ = await stored_rows(system, [preview.read_id, final.read_id])
        assert [r["read_id"] for r in reads] == [final.read_id]


def with_image(size: int) -> ReadRow:
    data = base64.b64encode(png()).decode()
    return ReadRow(read=plain_read(images=[ReadImage(kind="plate", content_type="image/png", data_b64=data)] * size))


class TestStoreChunks:
    """A store sends its images as one bytea[] value, which PostgreSQL caps at 1 GB: images bound a store."""

    async def test_reads_are_cut_by_their_images_bytes_in_order(self) -> None:
        rows = [with_image(1), with_image(2), with_image(1), ReadRow(read=plain_read()), with_image(1)]
        one = len(rows[0].read.images[0].data_b64)
        chunks = store_chunks(rows, 1000, 2 * one)
        assert [[rows.index(r) for r in chunk] for chunk in chunks] == [[0], [1], [2, 3, 4]]

    async def test_a_read_over_the_bound_is_stored_alone_and_the_count_still_bounds(self) -> None:
        rows = [with_image(3), with_image(1), ReadRow(read=plain_read()), ReadRow(read=plain_read())]
        one = len(rows[1].read.images[0].data_b64)
        assert [len(c) for c in store_chunks(rows, 2, 2 * one)] == [1, 2, 1]
        assert [len(c) for c in store_chunks(rows, 1000, 10**9)] == [4]
        assert store_chunks([], 1000, 1) == []

    async def test_a_batch_cut_in_stores_keeps_every_read_and_image_once(self, system: Any) -> None:
        settings = system.runtime("records").ingest.settings
        bound, settings.ingest_image_bytes = settings.ingest_image_bytes, 1  # every read with an image alone
        try:
            image = ReadImage(kind="plate", content_type="image/png", data_b64=base64.b64encode(png()).decode())
            reads = [plain_read(images=[image]), plain_read(), plain_read(images=[image])]
            await ingest(system, *reads)
            await ingest(system, *reads)  # a redelivery after the first stores committed stores nothing more
        finally:
            settings.ingest_image_bytes = bound
        stored, images = await stored_rows(system, [r.read_id for r in reads])
        assert sorted((r["read_id"], r["has_image"]) for r in stored) == sorted(
            (r.read_id, bool(r.images)) for r in reads
        )
        assert sorted(i["read_id"] for i in images) == sorted(r.read_id for r in reads if r.images)


async def test_a_rows_values_are_its_columns_by_name() -> None:
    """ReadRow.values builds the insert's row in its type's order: each value is its column's, by name."""
    row = full_row(datetime.now(UTC))
    read, ours = row.read, row.recognition
    assert ours is not None and read.vehicle_attributes is not None
    assert INSERT_COLUMNS == ROW_COLUMNS  # else the insert would store each value under another column
    sent = dict(zip(INSERT_COLUMNS, row.values(), strict=True))
    own: tuple[str, ...] = (
        "read_id",
        "captured_at",
        "agency",
        "camera_id",
        "plate",
        "plate_raw",
        "state",
        "confidence",
    )
    own += ("confidence_raw", "latitude", "longitude", "location_from_camera", "heading", "vehicle", "vendor")
    own += ("vendor_format", "raw_body")
    assert {c: sent[c] for c in own} == {c: getattr(read, c) for c in own}
    assert (sent["our_plate"], sent["our_confidence"], sent["our_model"]) == (ours.plate, 0.93, "crnn-test")
    assert sent["our_char_confidences"] == ours.char_confidences
    assert sent["candidates"] == [{"plate": read.candidates[0].plate, "confidence": 0.4}]
    assert sent["plate_box"] == {"x": 1.5, "y": 2, "width": 30, "height": 12}
    assert (sent["flags"], sent["has_image"], sent["hotlist_hit"]) == (
        ["recognizer_timeout", "vendor_preview"],
        False,
        True,
    )
    assert (sent["vehicle_make"], sent["vehicle_attributes"]) == (
        read.vehicle_attributes.make,
        read.vehicle_attributes.model_dump(mode="json"),
    )
    assert sent["lookalike_key"] is not None and sent["our_lookalike_key"] == sent["lookalike_key"]
