"""The ingest fault drill at CI size: records SIGKILLed, NATS and PostgreSQL restarted mid-posting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils.subprocesses import run_script

REPO = Path(__file__).resolve().parents[2]
# awaited on the session's loop: the in-process services keep answering NATS while the drill runs
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _drill(*args: str) -> subprocess.CompletedProcess[str]:
    return await run_script([sys.executable, "scripts/ingest_faults.py", *args], cwd=REPO, timeout=600)


class TestIngestFaultDrill:
    async def test_every_posted_read_is_stored_exactly_once_through_each_fault(self) -> None:
        """With two gateway worker processes on one port (as `bench/ingest.py` runs), so posts spread over both."""
        result = await _drill("--reads", "3000", "--gateway-workers", "2")
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        assert "gateway workers: 2" in result.stdout
        assert result.stdout.count("PASS") == 3

    async def test_the_same_holds_with_the_production_overlays_settings(self) -> None:
        """Production's ConfigMap and Deployment env, nats.conf users and permissions, the migration Job.

        Smaller than the drill above (2,000 reads: four batches, three still in flight at the fault)
        because each run starts the whole stack again; the 100,000-read run is in docs/operations.md.
        """
        result = await _drill("--reads", "2000", "--settings-from", "deploy/k8s/overlays/production")
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        assert "ALPR_ENVIRONMENT=production" in result.stdout
        assert result.stdout.count("PASS") == 3
        assert "nats.conf permission violations: 0" in result.stdout
