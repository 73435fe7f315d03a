"""Retention of frame outcomes: a frame row names plates (personal data), so the purge deletes it after a week,
or as soon as none of its reads is kept; a frame older than retention allows stores no read. Budget: a few
seconds (a purge run, a frame refused before the recognizer is asked)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.cli.stack import DEV_AGENCY
from services.records.frames import repository as frame_rows
from services.records.retention.job import PurgeJob
from tests.utils.frames import ONE_PLATE, Frames, photo

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def frame_row(
    admin_db: Any, *, received_at: datetime, captured_at: datetime, read_ids: list[str], plates: list[str]
) -> str:
    """A frame's outcome row as the frames flow writes it (the flow itself is tested in test_frame_flow.py)."""
    frame_id = str(uuid.uuid4())
    conn = await admin_db()
    try:
        await conn.execute(
            "INSERT INTO records.frames (frame_id, agency, camera_id, status, read_ids, plates, received_at, "
            "captured_at) VALUES ($1, $2, 'frame-cam-1', $3, $4, $5, $6, $7)",
            frame_id,
            DEV_AGENCY,
            "read" if read_ids else "no_plate",
            read_ids,
            plates,
            received_at,
            captured_at,
        )
    finally:
        await conn.close()
    return frame_id


async def frames_left(admin_db: Any, frame_ids: list[str]) -> set[str]:
    conn = await admin_db()
    try:
        rows = await conn.fetch("SELECT frame_id FROM records.frames WHERE frame_id = ANY($1)", frame_ids)
    finally:
        await conn.close()
    return {r["frame_id"] for r in rows}


class TestFrameRowsPurged:
    async def test_a_week_old_row_and_a_row_whose_read_went_with_its_partition_are_purged(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        now = datetime.now(UTC)
        # past the live cutoff (365 - 9 backup days): the purge drops the read's partition (no B5 run here, whose
        # mark would move where test_retention's own B5 pass starts)
        taken = now - timedelta(days=362)
        [expired] = await store_reads([{"plate": "F" + uuid.uuid4().hex[:6].upper(), "captured_at": taken}])
        week_old = await frame_row(
            admin_db, received_at=now - timedelta(days=8), captured_at=now - timedelta(days=8), read_ids=[], plates=[]
        )
        reads_gone = await frame_row(
            admin_db, received_at=now, captured_at=taken, read_ids=[expired.read_id], plates=[expired.plate]
        )
        recent = await frame_row(
            admin_db, received_at=now - timedelta(days=6), captured_at=now - timedelta(days=6), read_ids=[], plates=[]
        )

        rt = system.runtime("records")
        report = await PurgeJob(rt.settings, rt.uow, rt.bus).run(now, forced=True)
        assert f"reads_{taken:%Y%m%d}" in report.partitions_dropped

        assert await frames_left(admin_db, [week_old, reads_gone, recent]) == {recent}

    async def test_a_row_goes_only_when_none_of_its_reads_is_kept(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        now = datetime.now(UTC)
        taken = now - timedelta(hours=1)
        [read] = await store_reads([{"plate": "F" + uuid.uuid4().hex[:6].upper(), "captured_at": taken}])
        missing = str(uuid.uuid4())
        kept = await frame_row(admin_db, received_at=now, captured_at=taken, read_ids=[read.read_id], plates=["A"])
        half = await frame_row(
            admin_db, received_at=now, captured_at=taken, read_ids=[missing, read.read_id], plates=["B", "C"]
        )
        gone = await frame_row(admin_db, received_at=now, captured_at=taken, read_ids=[missing], plates=["D"])
        later = await frame_row(admin_db, received_at=now, captured_at=now, read_ids=[missing], plates=["E"])

        # as if this run's purge had reached up to half an hour ago: only frames captured before are looked at
        async with system.runtime("records").uow() as session:
            await frame_rows.purge_frames(
                session, received_before=now - timedelta(days=7), captured_before=now - timedelta(minutes=30)
            )

        assert await frames_left(admin_db, [kept, half, gone, later]) == {kept, half, later}


class TestFramePastRetention:
    async def test_a_frame_captured_before_the_cutoff_stores_no_read(self, system: Any, frames: Frames) -> None:
        camera = f"frame-cam-{uuid.uuid4().hex[:8]}"
        frame = await frames.post(photo(ONE_PLATE), camera=camera, captured_at=datetime.now(UTC) - timedelta(days=400))
        outcome = await frames.outcome(frame)
        assert (outcome.status, outcome.read_ids) == ("failed", [])
        assert outcome.error_code == "captured_before_retention_at_receipt"
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM records.reads WHERE camera_id = $1", camera) == 0
        finally:
            await conn.close()
