"""Reads handed straight to records' ingest, as its READS consumer hands them (tests of the store itself)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg

from libs.common.contracts.reads import ReadIn
from libs.common.streams import reads_subject


def plain_read(*, camera_id: str = "cam-insert", prefix: str = "RS", **extra: Any) -> ReadIn:
    """A read captured now with a fresh id and plate; `extra` sets any other field."""
    return ReadIn(
        read_id=str(uuid.uuid4()),
        agency="CA0430000",
        camera_id=camera_id,
        captured_at=datetime.now(UTC),
        plate=f"{prefix}{uuid.uuid4().hex[:5].upper()}",
        **extra,
    )


async def ingest(system: Any, *reads: ReadIn) -> None:
    """Hand records' ingest the READS messages of these reads, as its consumer would (one batch)."""
    nc = system.runtime("records").bus.nc
    await system.runtime("records").ingest.ingest_batch(
        [Msg(nc, subject=reads_subject(r.agency, r.camera_id), data=r.model_dump_json().encode()) for r in reads]
    )
