"""Prometheus metrics that more than one service records, and the text exposition."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

REQUESTS = Counter("alpr_http_requests_total", "HTTP requests", ["service", "route", "status"])
ERRORS = Counter("alpr_errors_total", "Typed errors returned", ["service", "code"])
INGESTED = Counter("alpr_ingest_reads_total", "Reads accepted onto the READS stream", ["format"])
STORED = Counter("alpr_reads_stored_total", "Reads committed in records")
DEADLETTERED = Counter(
    "alpr_deadlettered_total", "Messages a consumer set aside in the DEADLETTER stream", ["consumer"]
)
STREAM_LAG = Gauge("alpr_stream_lag", "Messages pending for a durable consumer", ["consumer"])
SEARCH_LATENCY = Histogram(
    "alpr_search_latency_seconds",
    "Search latency",
    ["where"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
ALERTS = Counter("alpr_alerts_total", "Hotlist alerts raised", ["match_type"])
PURGE_RUNS = Counter("alpr_purge_runs_total", "Retention purge runs", ["outcome"])
AUDIT_LAG = Gauge("alpr_audit_lag", "Audit events acked by the stream but not yet persisted")
AUDIT_VERIFY_OK = Gauge("alpr_audit_verify_ok", "1 when the last verification of the audit log passed")
DENIED = Counter("alpr_denied_total", "Refused data accesses", ["reason"])


def exposition() -> tuple[bytes, str]:
    """The Prometheus text body and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
