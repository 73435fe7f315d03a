"""One trace from the HTTP request through NATS to records and audit and their database work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from libs.common.telemetry import add_span_processor

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestSearchTrace:
    async def test_spans_of_one_search_cross_gateway_records_and_audit(self, system) -> None:
        exporter = InMemorySpanExporter()
        add_span_processor(SimpleSpanProcessor(exporter))
        now = datetime.now(UTC)
        response = await system.gateway.post(
            "/v1/searches",
            json={
                "query": {
                    "plate": "9TRACE" + uuid.uuid4().hex[:2].upper(),
                    "since": (now - timedelta(days=1)).isoformat(),
                    "until": now.isoformat(),
                },
                "purpose": {
                    "use": "wanted_suspect",
                    "case_number": "SJ-2026-123456",
                    "reason": "Suspect vehicle in a shooting on Tully Road last night",
                },
            },
            headers=system.token("officer"),
        )
        assert response.status_code == 200, response.text
        spans = exporter.get_finished_spans()
        server = next(s for s in spans if s.name.startswith("POST /v1/searches") and s.parent is None)
        trace_id = server.context.trace_id
        in_trace = [s for s in spans if s.context.trace_id == trace_id]
        names = {s.name for s in in_trace}
        services = {s.attributes.get("alpr.service") for s in in_trace}
        assert "request alpr.records.search" in names
        assert "handle alpr.records.search" in names
        assert "handle alpr.audit.persisted" in names
        assert any(n.startswith("publish alpr.audit.event") for n in names)
        assert {"gateway", "records", "audit"} <= services
        db_users = {s.attributes.get("db.user") for s in in_trace if s.name == "db.transaction"}
        assert {"alpr_records", "alpr_audit", "alpr_gateway"} <= db_users
        # the audit writer's batch links back to the search's trace through the AUDIT stream headers
        linked = [
            s
            for s in spans
            if s.name == "consume audit-writer" and any(link.context.trace_id == trace_id for link in s.links)
        ]
        assert linked


async def test_spans_are_built_only_while_something_exports_them(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry.sdk.trace.sampling import Decision

    from libs.common import telemetry

    sampler = telemetry.RecordWhenExported()
    monkeypatch.setattr(telemetry, "_exported", False)
    assert sampler.should_sample(None, 0x1234, "POST /v1/reads").decision == Decision.DROP
    monkeypatch.setattr(telemetry, "_exported", True)
    assert sampler.should_sample(None, 0x1234, "POST /v1/reads").decision == Decision.RECORD_AND_SAMPLE


async def test_a_hot_path_span_is_made_only_where_it_goes_somewhere(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry import trace
    from opentelemetry.propagate import extract
    from opentelemetry.sdk.trace import TracerProvider

    from libs.common import telemetry

    tracer = TracerProvider(sampler=telemetry.RecordWhenExported()).get_tracer("test")
    caller_trace = "0af7651916cd43dd8448eb211c80319c"
    caller = extract({"traceparent": f"00-{caller_trace}-b7ad6b7169203331-01"})
    monkeypatch.setattr(telemetry, "_exported", False)
    with telemetry.hot_path_span(tracer, "POST /v1/reads"):
        # nothing exports and no caller's trace: no span, not even ids
        assert not trace.get_current_span().get_span_context().is_valid
    with telemetry.hot_path_span(tracer, "POST /v1/reads", context=caller):
        # a camera that sent its traceparent keeps its trace across the bus
        assert trace.get_current_span().get_span_context().trace_id == int(caller_trace, 16)
    monkeypatch.setattr(telemetry, "_exported", True)
    with telemetry.hot_path_span(tracer, "POST /v1/reads"):
        span = trace.get_current_span()
        assert span.get_span_context().is_valid and span.is_recording()
