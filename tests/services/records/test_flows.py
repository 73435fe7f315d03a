"""The ingest pipeline's hand-off: a batch parsed ahead reaches the flow as an argument, and only with its batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.msg import Msg

from libs.common.contracts.reads import ReadIn
from services.records.batches import Parsed
from services.records.flows import IngestPipeline

pytestmark = pytest.mark.asyncio(loop_scope="session")


class RecordingFlow:
    """Stands in for IngestFlow: keeps what each batch was handed with."""

    def __init__(self) -> None:
        self.handed: list[tuple[list[Msg], Parsed | None]] = []

    async def ingest_batch(self, msgs: list[Msg], *, parsed: Parsed | None = None) -> None:
        self.handed.append((msgs, parsed))


def batch(n: int) -> list[Msg]:
    read = ReadIn(
        read_id=str(uuid.uuid4()),
        agency="CA0430000",
        camera_id="dev-cam-1",
        captured_at=datetime.now(UTC),
        plate="7ABC123",
    )
    return [Msg(None, subject="alpr.reads.CA0430000.dev-cam-1", data=read.model_dump_json().encode())] * n  # type: ignore[arg-type]


class TestIngestPipeline:
    async def test_a_prepared_batch_is_handed_with_its_parse(self) -> None:
        flow = RecordingFlow()
        pipeline = IngestPipeline(flow)  # type: ignore[arg-type]
        msgs = batch(2)
        pipeline.prepare(msgs)
        await pipeline.ingest(msgs)
        ((handed, parsed),) = flow.handed
        assert handed is msgs and parsed is not None
        assert [read.plate for read, _ in parsed.reads] == ["7ABC123", "7ABC123"] and parsed.rejects == []

    async def test_another_batch_is_not_handed_a_parse_that_is_not_its_own(self) -> None:
        flow = RecordingFlow()
        pipeline = IngestPipeline(flow)  # type: ignore[arg-type]
        pipeline.prepare(batch(1))
        split: Any = batch(1)  # a batch split after a failure is a new list with equal contents
        await pipeline.ingest(split)
        await pipeline.ingest(split)
        assert [parsed for _, parsed in flow.handed] == [None, None]

    async def test_a_parse_is_handed_once(self) -> None:
        flow = RecordingFlow()
        pipeline = IngestPipeline(flow)  # type: ignore[arg-type]
        msgs = batch(1)
        pipeline.prepare(msgs)
        await pipeline.ingest(msgs)
        await pipeline.ingest(msgs)  # handled again, one at a time after a failure: parsed afresh
        assert [parsed is None for _, parsed in flow.handed] == [False, True]
