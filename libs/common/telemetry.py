"""OpenTelemetry set-up: a tracer provider per process, exporters off unless configured."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult

from libs.common.settings import CommonSettings

_extra_processors: list[SpanProcessor] = []
_exported = False  # whether any processor takes spans in this process


class RecordWhenExported(Sampler):
    """Records spans only while something exports them; otherwise spans keep their ids (so trace context
    still crosses HTTP and the bus, and logs can name it) but are not built. With no exporter configured,
    building and dropping a camera post's spans cost a fifth of the gateway's work on it."""

    def __init__(self) -> None:
        self._inner = ParentBased(ALWAYS_ON)

    def should_sample(self, parent_context: Context | None, trace_id: int, *args: Any, **kwargs: Any) -> SamplingResult:
        if _exported:
            return self._inner.should_sample(parent_context, trace_id, *args, **kwargs)
        parent = trace.get_current_span(parent_context).get_span_context()
        return SamplingResult(Decision.DROP, None, parent.trace_state if parent.is_valid else None)

    def get_description(self) -> str:
        return "RecordWhenExported{ParentBased{ALWAYS_ON}}"


@contextlib.contextmanager
def hot_path_span(tracer: trace.Tracer, name: str, *, context: Context | None = None, **kwargs: Any) -> Iterator[None]:
    """A span on a path taken thousands of times a second, only where it goes somewhere: while spans are
    exported, or inside a trace a caller started. Otherwise not even its ids are made: a dropped span
    still cost about a sixth of a single-read camera post (ids, context attach and detach, twice)."""
    if _exported or trace.get_current_span(context).get_span_context().is_valid:
        with tracer.start_as_current_span(name, context=context, **kwargs):
            yield
    else:
        yield


def add_span_processor(processor: SpanProcessor) -> None:
    """Let a test (or an in-process runner) observe spans of every service started afterwards."""
    global _exported
    _extra_processors.append(processor)
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.add_span_processor(processor)
        _exported = True


def setup_tracing(
    app: FastAPI, service: str, settings: CommonSettings, *, own_server_spans: tuple[str, ...] = ()
) -> None:
    """Install one provider per process (first caller wins) and instrument the app.

    `own_server_spans`: path patterns whose routes open a lean server span of their own (camera
    posts, a thousand a second), since the generic ASGI span cost about a third of such a request.
    """
    global _exported
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(
            resource=Resource.create({"service.name": f"alpr-{service}"}), sampler=RecordWhenExported()
        )
        _exported = bool(settings.otel_exporter_otlp_endpoint or settings.otel_console or _extra_processors)
        if settings.otel_exporter_otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint))
            )
        if settings.otel_console:
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        for processor in _extra_processors:
            provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)
    # per-chunk send/receive spans cost more than the request they describe
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(("healthz", "readyz", "metrics", *own_server_spans)),
        exclude_spans=["receive", "send"],
    )
