"""OpenTelemetry set-up: a tracer provider per process, exporters off unless configured."""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from libs.common.settings import CommonSettings

_extra_processors: list[SpanProcessor] = []


def add_span_processor(processor: SpanProcessor) -> None:
    """Let a test (or an in-process runner) observe spans of every service started afterwards."""
    _extra_processors.append(processor)
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.add_span_processor(processor)


def setup_tracing(
    app: FastAPI, service: str, settings: CommonSettings, *, own_server_spans: tuple[str, ...] = ()
) -> None:
    """Install one provider per process (first caller wins) and instrument the app.

    `own_server_spans`: path patterns whose routes open a lean server span of their own (camera
    posts, a thousand a second), since the generic ASGI span cost about a third of such a request.
    """
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(resource=Resource.create({"service.name": f"alpr-{service}"}))
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
