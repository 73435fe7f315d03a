"""Every service exposes Prometheus metrics, health and readiness."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestOperatorEndpoints:
    @pytest.mark.parametrize("service", ["gateway", "records", "audit", "sharing", "recognizer"])
    async def test_healthz_readyz_metrics(self, system, service: str) -> None:
        if service not in system.apps:
            pytest.skip("service not started in this run")
        transport = httpx.ASGITransport(app=system.apps[service])
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            assert (await client.get("/healthz")).json()["status"] == "ok"
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["ready"] is True
            metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert "text/plain" in metrics.headers["content-type"]
        for name in (
            "alpr_ingest_reads_total",
            "alpr_stream_lag",
            "alpr_search_latency_seconds",
            "alpr_alerts_total",
            "alpr_purge_runs_total",
            "alpr_audit_lag",
            "alpr_audit_verify_ok",
        ):
            assert f"# TYPE {name}" in metrics.text
