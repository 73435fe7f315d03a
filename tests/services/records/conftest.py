"""Fixtures for records tests: reads stored straight into their daily partitions, as the records role."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.records.lookalike import lookalike_key
from services.records.repository import plate_days_partition_ddl


@dataclass
class StoredRead:
    plate: str
    captured_at: datetime
    camera_id: str = "dev-cam-1"
    state: str | None = "CA"
    latitude: float | None = 37.3382
    longitude: float | None = -121.8863
    hotlist_hit: bool = False
    image: bytes | None = b"\xff\xd8plate-crop\xff\xd9"
    read_id: str = field(default_factory=lambda: str(uuid.uuid4()))


StoreReads = Callable[[list[dict[str, Any]]], Awaitable[list[StoredRead]]]


async def _store(admin_dsn: str, reads: list[StoredRead]) -> list[StoredRead]:
    conn = await asyncpg.connect(admin_dsn)
    try:
        # as the records role, so the partitions it creates are ones the purge may drop
        await conn.execute("SET ROLE alpr_records; SET search_path TO records")
        for day in {r.captured_at.astimezone(UTC).date() for r in reads}:
            lo, hi = day.isoformat(), (day + timedelta(days=1)).isoformat()
            await conn.execute(plate_days_partition_ddl(day))
            for table in ("reads", "read_images"):
                await conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {table}_{day:%Y%m%d} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{lo} 00:00+00') TO ('{hi} 00:00+00')"
                )
        await conn.executemany(
            "INSERT INTO reads (read_id, captured_at, agency, camera_id, plate, plate_raw, lookalike_key, state, "
            "confidence, latitude, longitude, vendor, vendor_format, has_image, hotlist_hit) VALUES "
            "($1::uuid, $2, 'CA0430000', $3, $4, $4, $5, $6, 0.9, $7, $8, 'native', 'native', $9, $10)",
            [
                (
                    r.read_id,
                    r.captured_at,
                    r.camera_id,
                    r.plate,
                    lookalike_key(r.plate),
                    r.state,
                    r.latitude,
                    r.longitude,
                    r.image is not None,
                    r.hotlist_hit,
                )
                for r in reads
            ],
        )
        await conn.executemany(
            "INSERT INTO read_images (read_id, captured_at, kind, content_type, data) "
            "VALUES ($1::uuid, $2, 'plate', 'image/jpeg', $3)",
            [(r.read_id, r.captured_at, r.image) for r in reads if r.image is not None],
        )
    finally:
        await conn.close()
    return reads


@pytest.fixture
def store_reads(system: Any) -> StoreReads:
    """Store reads (and a plate image each) directly, at any capture time, bypassing ingest's retention check."""

    async def store(reads: list[dict[str, Any]]) -> list[StoredRead]:
        return await _store(system.stack.pg.admin_dsn, [StoredRead(**r) for r in reads])

    return store


@pytest.fixture
def admin_db(system: Any) -> Callable[[], Awaitable[asyncpg.Connection]]:
    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(system.stack.pg.admin_dsn)

    return connect
