"""Every service exposes health, readiness and its own Prometheus metrics, and only its own."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from libs.common import metrics
from libs.common.drain import Drain

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERVICES = ["gateway", "records", "audit", "sharing", "recognizer"]
EVERY = {"alpr_http_requests", "alpr_http_request_duration_seconds", "alpr_errors"}
OWN = {
    "gateway": {
        "alpr_ingest_reads",
        "alpr_denied",
        "alpr_oidc_key_fetches",
        "alpr_oidc_keys_fetched_timestamp_seconds",
    },
    "records": {
        "alpr_reads_stored",
        "alpr_search_latency_seconds",
        "alpr_alerts",
        "alpr_purge_runs",
        "alpr_frames_read",
        "alpr_denied",
        "alpr_deadlettered",
        "alpr_consumer_restarts",
        "alpr_stream_lag",
        "alpr_hotlist_index_reloads",
        "alpr_partner_list_reconciles",
        "alpr_partner_lists_withdrawn",
    },
    "audit": {
        "alpr_audit_lag",
        "alpr_audit_verify_ok",
        "alpr_audit_verify_last_success_timestamp_seconds",
        "alpr_audit_verify_duration_seconds",
        "alpr_deadlettered",
        "alpr_consumer_restarts",
        "alpr_stream_lag",
    },
    "sharing": set(),
    "recognizer": set(),
}


async def scrape(system, service: str, path: str = "/metrics") -> httpx.Response:
    transport = httpx.ASGITransport(app=system.apps[service])
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.get(path)


def families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text) if f.name.startswith("alpr_")}


class TestOperatorEndpoints:
    @pytest.mark.parametrize("service", SERVICES)
    async def test_healthz_and_readyz(self, system, service: str) -> None:
        if service not in system.apps:
            pytest.skip("service not started in this run")
        assert (await scrape(system, service, "/healthz")).json()["status"] == "ok"
        ready = await scrape(system, service, "/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text

    @pytest.mark.parametrize("service", SERVICES)
    async def test_each_service_exports_exactly_its_own_families(self, system, service: str) -> None:
        if service not in system.apps:
            pytest.skip("service not started in this run")
        await scrape(system, service, "/healthz")
        response = await scrape(system, service)
        assert response.status_code == 200 and "text/plain" in response.headers["content-type"]
        found = families(response.text)
        assert set(found) == EVERY | OWN[service]
        # RED by route, only this service's samples, with a bucket past the 5 s request timeout
        mine = [s for s in found["alpr_http_requests"] if s.labels["route"] == "/healthz"]
        assert mine and {s.labels["service"] for s in found["alpr_http_requests"]} == {service}
        buckets = {float(s.labels["le"]) for s in found["alpr_http_request_duration_seconds"] if "le" in s.labels}
        assert max(b for b in buckets if b != float("inf")) > 5

    async def test_every_family_of_ours_has_an_owner_so_it_is_exported(self, system) -> None:
        """A family missing from OWNERS is exported by no service: its alert would never fire."""
        ours = {f.name for f in metrics.REGISTRY.collect() if f.name.startswith("alpr_")}
        assert ours and ours - set(metrics.OWNERS) == set()

    async def test_an_unknown_path_is_one_series_not_one_per_path(self, system) -> None:
        for path in ("/nothing/1", "/nothing/2", "/wp-login.php"):
            assert (await scrape(system, "sharing", path)).status_code == 404
        transport = httpx.ASGITransport(app=system.apps["sharing"])
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            for method in ("BREW", "PROPFIND"):
                await client.request(method, "/healthz")
        samples = families((await scrape(system, "sharing")).text)["alpr_http_requests"]
        routes = {s.labels["route"] for s in samples if s.labels["status"] == "404"}
        assert routes == {"unmatched"}
        methods = {s.labels["method"] for s in samples}
        assert "OTHER" in methods and not methods & {"BREW", "PROPFIND"}


class TestTruthfulGauges:
    async def test_verify_status_has_no_sample_before_a_verification(self) -> None:
        gauge = metrics.LatestValue("alpr_test_latest_ok", "test")
        try:
            assert [f.samples for f in gauge.collect()] == [[]]
            gauge.set(0)
            assert [s.value for f in gauge.collect() for s in f.samples] == [0]
        finally:
            metrics.REGISTRY.unregister(gauge)

    async def test_purge_runs_read_zero_from_start_up_so_a_missing_run_can_alert(self, system) -> None:
        samples = families((await scrape(system, "records")).text)["alpr_purge_runs"]
        assert {s.labels["outcome"] for s in samples} >= {"completed", "failed"}

    async def test_consumer_lag_comes_from_jetstream_per_stream(self, system) -> None:
        for _ in range(100):  # the idle consumer reports within its first fetch timeout
            samples = families((await scrape(system, "records")).text)["alpr_stream_lag"]
            if any(s.labels["stream"] == "READS" and s.labels["consumer"] == "records-reads" for s in samples):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no READS lag reported: {samples}")
        audit = families((await scrape(system, "audit")).text)["alpr_stream_lag"]
        assert {s.labels["stream"] for s in audit} <= {"AUDIT"}


class TestReadiness:
    async def test_readyz_fails_while_draining(self, system) -> None:
        runtime = system.runtime("sharing")
        saved, runtime.drain = runtime.drain, Drain()
        try:
            runtime.drain.begin()
            ready = await scrape(system, "sharing", "/readyz")
            assert ready.status_code == 503 and ready.json()["draining"] is True
        finally:
            runtime.drain = saved
        assert (await scrape(system, "sharing", "/readyz")).status_code == 200

    async def test_readyz_fails_when_the_schema_lacks_a_migration_the_code_has(self, system) -> None:
        schema = system.apps["sharing"].state.schema
        saved = schema.required
        schema.required, schema._current = saved | {"9999_not_applied.sql"}, False
        try:
            ready = await scrape(system, "sharing", "/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["schema"] is False
            assert ready.json()["schema_missing"] == ["9999_not_applied.sql"]
        finally:
            schema.required, schema._current = saved, False
        assert (await scrape(system, "sharing", "/readyz")).status_code == 200
