"""The periodic purge counts each run in alpr_purge_runs_total, so the runbook's "purge did not run" alert can
see both a run and its absence."""

from __future__ import annotations

import asyncio

import pytest

from libs.common import metrics
from libs.common.db import UnitOfWork, create_engine
from services.records.retention.job import PurgeJob
from services.records.settings import RecordsSettings

pytestmark = pytest.mark.asyncio(loop_scope="session")


def completed() -> float:
    return metrics.PURGE_RUNS.labels("completed")._value.get()


class TestPurgeRunsCounted:
    async def test_each_periodic_run_is_counted_as_completed(self, system) -> None:
        env = {k.removeprefix("ALPR_").lower(): v for k, v in system.stack.env_for("records", http_port=0).items()}
        settings = RecordsSettings(**{**env, "environment": "test", "purge_interval_s": 0.2})
        engine = create_engine(settings.database_url.get_secret_value(), schema="records")
        job = PurgeJob(settings, UnitOfWork(engine), system.runtime("records").bus)
        before = completed()
        job.start()
        try:
            for _ in range(150):  # a run is one transaction on a shared, slow machine
                if completed() > before:
                    break
                await asyncio.sleep(0.1)
        finally:
            await job.stop()
            await engine.dispose()
        assert completed() > before
