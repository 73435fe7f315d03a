"""A camera post is traced by its own lean server span: the post, its READS publish, records' batch."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from libs.common.telemetry import add_span_processor

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_camera_post_is_one_trace_into_records(system) -> None:  # type: ignore[no-untyped-def]
    exporter = InMemorySpanExporter()
    add_span_processor(SimpleSpanProcessor(exporter))
    read = {"plate": "5TRC" + uuid.uuid4().hex[:3].upper(), "captured_at": datetime.now(UTC).isoformat()}
    response = await system.gateway.post("/v1/reads", json=read, headers=system.camera)
    assert response.status_code == 202, response.text
    server = next(s for s in exporter.get_finished_spans() if s.name == "POST /v1/reads")
    assert server.parent is None and server.attributes["alpr.camera"]
    children = [s for s in exporter.get_finished_spans() if s.parent and s.parent.span_id == server.context.span_id]
    assert any(s.name == "publish READS" for s in children)
    for _ in range(100):  # records consumes the read in its own batch, linked back to the post
        if any(
            s.name.startswith("consume records")
            and any(link.context.trace_id == server.context.trace_id for link in s.links)
            for s in exporter.get_finished_spans()
        ):
            return
        await asyncio.sleep(0.05)
    pytest.fail("records' batch span does not link to the camera post")
