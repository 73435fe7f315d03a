"""bench/ingest.py --cameras: the cameras it registers are ones the gateway accepts, each read stored as its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from bench.ingest import camera_headers, register_cameras

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_each_registered_camera_posts_reads_stored_under_its_own_id(system: Any) -> None:
    dsn = system.stack.pg.admin_dsn
    assert await register_cameras(dsn, 0) == []  # the default, one camera: nothing registered
    cameras = camera_headers(await register_cameras(dsn, 2))
    assert len(cameras) == 2
    plates = {}
    for headers in cameras:
        plate = "8BEN" + uuid.uuid4().hex[:4].upper()
        read = {"plate": plate, "captured_at": datetime.now(UTC).isoformat(), "read_id": plate}
        answer = await system.gateway.post("/v1/reads", json=read, headers=headers)
        assert answer.status_code == 202, answer.text
        plates[plate] = headers
    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(200):
            rows = await conn.fetch("SELECT plate, camera_id FROM records.reads WHERE plate = ANY($1)", list(plates))
            if len(rows) == len(plates):
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    assert sorted(r["camera_id"] for r in rows) == ["bench-cam-2", "bench-cam-3"]
