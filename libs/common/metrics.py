"""Prometheus metrics, each exported only by the service that records it, and the text exposition.

Families recorded by every service (HTTP, typed errors, consumers) carry a `service` label and a service's
`/metrics` keeps only its own samples; a family one service owns is exported by that service alone, so a
dashboard never sums a zero that another service made up. Names follow Prometheus: base units, `_total`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

disable_created_metrics()  # a `_created` series beside each counter doubles the series and no rule reads it

# past every SLO the runbook names (search p95 2 s, a request's 5 s timeout), so a slow tail is visible
SLOW_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

HTTP_REQUESTS = Counter(
    "alpr_http_requests_total", "HTTP requests answered, by route template", ["service", "route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "alpr_http_request_duration_seconds",
    "Time from a request's arrival to its last response byte, by route template",
    ["service", "route", "method"],
    buckets=SLOW_BUCKETS,
)
ERRORS = Counter("alpr_errors_total", "Typed errors returned", ["service", "code"])
INGESTED = Counter("alpr_ingest_reads_total", "Reads accepted onto the READS stream", ["format"])
STORED = Counter("alpr_reads_stored_total", "Reads committed in records")
DEADLETTERED = Counter(
    "alpr_deadlettered_total", "Messages a consumer set aside in the DEADLETTER stream", ["service", "consumer"]
)
CONSUMER_RESTARTS = Counter(
    "alpr_consumer_restarts_total",
    "Consumer loops that ended with no stop asked and were started again (a bug: its log line says where)",
    ["service", "consumer"],
)
STREAM_LAG = Gauge(
    "alpr_stream_lag",
    "Messages a durable consumer has not yet acknowledged (JetStream)",
    ["service", "stream", "consumer"],
)
SEARCH_LATENCY = Histogram("alpr_search_latency_seconds", "Search latency", ["where"], buckets=SLOW_BUCKETS)
ALERTS = Counter("alpr_alerts_total", "Hotlist alerts raised", ["match_type"])
HOTLIST_RELOADS = Counter(
    "alpr_hotlist_index_reloads_total",
    "Hotlist indexes loaded again in full: the store's changes went back (a restore) or were purged unseen",
    ["reason"],
)
PARTNER_LIST_RECONCILES = Counter(
    "alpr_partner_list_reconciles_total",
    "Passes that checked partner lists against the agreements in force, by outcome "
    "(completed, sharing_unavailable, failed)",
    ["outcome"],
)
for _outcome in ("completed", "sharing_unavailable", "failed"):
    PARTNER_LIST_RECONCILES.labels(_outcome)  # at 0 from start-up, so a rate has something to read
PARTNER_LISTS_WITHDRAWN = Counter(
    "alpr_partner_lists_withdrawn_total", "Partner lists withdrawn because no agreement in force allowed them"
)
PURGE_RUNS = Counter("alpr_purge_runs_total", "Retention purge runs", ["outcome"])
for _outcome in ("completed", "skipped", "failed"):
    PURGE_RUNS.labels(_outcome)  # a series at 0 from start-up, so "no run in 26 h" has something to read
FRAMES_READ = Counter(
    "alpr_frames_read_total", "Photographs records took off FRAMES, by outcome: read, no_plate or failed", ["outcome"]
)
for _outcome in ("read", "no_plate", "failed"):
    FRAMES_READ.labels(_outcome)  # each at 0 from start-up, so a share of failed or plateless frames can be read
AUDIT_LAG = Gauge("alpr_audit_lag", "Audit events acked by the stream but not yet persisted")
DENIED = Counter("alpr_denied_total", "Refused data accesses", ["reason"])
OIDC_KEY_FETCHES = Counter(
    "alpr_oidc_key_fetches_total", "Fetches of the identity provider's signing keys (gateway)", ["outcome"]
)
for _outcome in ("fetched", "failed"):
    OIDC_KEY_FETCHES.labels(_outcome)


class LatestValue(Collector):
    """A gauge with no sample until something measured it: `alpr_audit_verify_ok` must not read 0 (a failed
    verification) before any verification ran."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value: float | None = None
        REGISTRY.register(self)

    def set(self, value: float) -> None:
        self.value = value

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.name, self.documentation)
        if self.value is not None:
            family.add_metric([], self.value)
        yield family

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, self.documentation)]


AUDIT_VERIFY_OK = LatestValue("alpr_audit_verify_ok", "1 when the last verification of the audit log passed")
# set by the audit service's periodic verification (services/audit/verify_job.py); AlprAuditVerifyStale reads it
AUDIT_VERIFY_LAST_SUCCESS = LatestValue(
    "alpr_audit_verify_last_success_timestamp_seconds", "When a verification of the whole audit log last passed"
)
AUDIT_VERIFY_DURATION = LatestValue(
    "alpr_audit_verify_duration_seconds", "How long the last periodic verification of the audit log took"
)
# time() minus this is how stale the gateway's copy of the provider's keys is (kept when the provider is down)
OIDC_KEYS_FETCHED_AT = LatestValue(
    "alpr_oidc_keys_fetched_timestamp_seconds", "When the identity provider's signing keys were last fetched"
)

EVERY_SERVICE = frozenset({"gateway", "recognizer", "records", "audit", "sharing"})
# which services export a family; families with a `service` label keep only the scraped service's samples
OWNERS: dict[str, frozenset[str]] = {
    "alpr_http_requests": EVERY_SERVICE,
    "alpr_http_request_duration_seconds": EVERY_SERVICE,
    "alpr_errors": EVERY_SERVICE,
    "alpr_ingest_reads": frozenset({"gateway"}),
    "alpr_denied": frozenset({"gateway", "records"}),
    "alpr_oidc_key_fetches": frozenset({"gateway"}),
    "alpr_oidc_keys_fetched_timestamp_seconds": frozenset({"gateway"}),
    "alpr_reads_stored": frozenset({"records"}),
    "alpr_search_latency_seconds": frozenset({"records"}),
    "alpr_alerts": frozenset({"records"}),
    "alpr_hotlist_index_reloads": frozenset({"records"}),
    "alpr_partner_list_reconciles": frozenset({"records"}),
    "alpr_partner_lists_withdrawn": frozenset({"records"}),
    "alpr_purge_runs": frozenset({"records"}),
    "alpr_frames_read": frozenset({"records"}),
    # the services that run JetStream consumers (libs/common/consumer.py)
    "alpr_deadlettered": frozenset({"records", "audit"}),
    "alpr_consumer_restarts": frozenset({"records", "audit"}),
    "alpr_stream_lag": frozenset({"records", "audit"}),
    "alpr_audit_lag": frozenset({"audit"}),
    "alpr_audit_verify_ok": frozenset({"audit"}),
    "alpr_audit_verify_last_success_timestamp_seconds": frozenset({"audit"}),
    "alpr_audit_verify_duration_seconds": frozenset({"audit"}),
}


def families_of(service: str) -> list[Metric]:
    """What `service` exports: its own families and samples, and the process's (`process_`, `python_`)."""
    kept = []
    for family in REGISTRY.collect():
        owners = OWNERS.get(family.name)
        if owners is None:
            if not family.name.startswith("alpr_"):
                kept.append(family)  # the process collector's figures describe this process
            continue
        if service not in owners:
            continue
        samples = [s for s in family.samples if s.labels.get("service", service) == service]
        mine = Metric(family.name, family.documentation, family.type, family.unit)
        mine.samples = samples
        kept.append(mine)
    return kept


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def exposition(service: str) -> tuple[bytes, str]:
    """The Prometheus text body of one service and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families_of(service)))
    return generate_latest(registry), CONTENT_TYPE_LATEST
