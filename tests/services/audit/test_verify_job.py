"""The periodic verification: a round sets the gauges, names a tampered log, skips while another replica
verifies, survives a database that is down, and the loop runs by itself until drain.

Tampering happens on a copy of the log in a scratch schema (as in test_tamper.py): the live log stays intact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import ValidationError

from libs.common import metrics
from libs.common.contracts.audit import EventType
from libs.common.db import UnitOfWork, create_engine
from libs.common.drain import Drain
from services.audit.repository.chain import VERIFY_LOCK
from services.audit.settings import AuditSettings
from services.audit.verify_job import RoundOutcome, VerifyJob
from tests.utils.access_log import copy_log, full_event, public_key, record

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def scratch(system: Any, admin_db: Any) -> AsyncIterator[str]:
    """A copy of the live log and its checkpoints, to tamper with."""
    schema = await copy_log(system, admin_db, "verifyjob_", records=4)
    try:
        yield schema
    finally:
        await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest_asyncio.fixture(loop_scope="session")
async def scratch_uow(system: Any, scratch: str) -> AsyncIterator[UnitOfWork]:
    engine = create_engine(system.stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://"), schema=scratch)
    try:
        yield UnitOfWork(engine)
    finally:
        await engine.dispose()


def live_job(system: Any, *, interval_s: float = 3600.0) -> VerifyJob:
    """A job on the live log, as the audit service builds it: its unit of work, the auditor's key, its bus."""
    runtime = system.runtime("audit")
    return VerifyJob(runtime.uow, [public_key(system)], bus=runtime.bus, interval_s=interval_s)


class TestOneRound:
    async def test_a_good_log_passes_and_the_timestamp_advances(self, system, caplog) -> None:
        for _ in range(3):
            await record(system, full_event(EventType.SEARCH))
        await system.runtime("audit").writer.checkpoint_tick(force=True)
        before = time.time()
        metrics.AUDIT_VERIFY_OK.set(0)
        with caplog.at_level(logging.INFO, logger="services.audit.verify_job"):
            assert await live_job(system).run_round() == RoundOutcome.PASSED
        assert metrics.AUDIT_VERIFY_OK.value == 1
        first = metrics.AUDIT_VERIFY_LAST_SUCCESS.value
        assert first is not None and first >= before
        assert metrics.AUDIT_VERIFY_DURATION.value is not None and metrics.AUDIT_VERIFY_DURATION.value >= 0
        assert any(
            "access log verified" in r.getMessage() and " 0 records" not in r.getMessage() for r in caplog.records
        )
        await asyncio.sleep(0.01)
        assert await live_job(system).run_round() == RoundOutcome.PASSED
        second = metrics.AUDIT_VERIFY_LAST_SUCCESS.value
        assert second is not None and second > first

    async def test_a_tampered_log_reads_zero_and_is_logged_without_its_contents(
        self, system, admin_db, scratch, scratch_uow, caplog
    ) -> None:
        job = VerifyJob(scratch_uow, [public_key(system)], bus=None, interval_s=3600)
        assert await job.run_round() == RoundOutcome.PASSED
        assert metrics.AUDIT_VERIFY_OK.value == 1
        size = await admin_db.fetchval(f"SELECT max(tree_size) FROM {scratch}.checkpoints")
        seq = size - 2
        payload = await admin_db.fetchval(f"SELECT payload FROM {scratch}.access_records WHERE seq = $1", seq)
        await admin_db.execute(
            f"UPDATE {scratch}.access_records SET payload = $1 WHERE seq = $2",
            json.dumps({**json.loads(payload), "planted": "8TAMPER1"}),
            seq,
        )
        last_success = metrics.AUDIT_VERIFY_LAST_SUCCESS.value
        with caplog.at_level(logging.INFO, logger="services.audit.verify_job"):
            assert await job.run_round() == RoundOutcome.FAILED
        assert metrics.AUDIT_VERIFY_OK.value == 0
        assert metrics.AUDIT_VERIFY_LAST_SUCCESS.value == last_success  # a failed log is no success
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1 and "hash_mismatch" in errors[0] and f"seq {seq} " in errors[0]
        assert "8TAMPER1" not in caplog.text and "8ABC" not in caplog.text

    async def test_a_round_skips_while_another_replica_holds_the_lock(self, system, admin_db) -> None:
        metrics.AUDIT_VERIFY_OK.set(0)
        stamp = metrics.AUDIT_VERIFY_LAST_SUCCESS.value
        async with admin_db.transaction():
            assert await admin_db.fetchval("SELECT pg_try_advisory_xact_lock($1)", VERIFY_LOCK)
            assert await live_job(system).run_round() == RoundOutcome.SKIPPED
        assert metrics.AUDIT_VERIFY_OK.value == 0 and metrics.AUDIT_VERIFY_LAST_SUCCESS.value == stamp
        # the lock went with the other replica's transaction: the next round runs
        assert await live_job(system).run_round() == RoundOutcome.PASSED
        assert metrics.AUDIT_VERIFY_OK.value == 1

    async def test_of_two_concurrent_rounds_one_verifies_and_one_skips(self, system) -> None:
        outcomes = await asyncio.gather(live_job(system).run_round(), live_job(system).run_round())
        assert sorted(outcomes) == [RoundOutcome.PASSED, RoundOutcome.SKIPPED]

    async def test_a_database_that_is_down_leaves_the_gauges_and_warns(self, caplog) -> None:
        engine = create_engine("postgresql+asyncpg://alpr_audit@127.0.0.1:1/alpr", schema="audit")
        job = VerifyJob(UnitOfWork(engine), [], bus=None, interval_s=3600)
        saved = (metrics.AUDIT_VERIFY_OK.value, metrics.AUDIT_VERIFY_LAST_SUCCESS.value)
        try:
            with caplog.at_level(logging.WARNING, logger="services.audit.verify_job"):
                assert await job.run_round() == RoundOutcome.NOT_RUN
        finally:
            await engine.dispose()
        assert (metrics.AUDIT_VERIFY_OK.value, metrics.AUDIT_VERIFY_LAST_SUCCESS.value) == saved
        assert any("could not run" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


class TestThePeriodicLoop:
    async def test_it_runs_by_itself_and_stops_at_drain(self, system) -> None:
        job, drain = live_job(system, interval_s=0.05), Drain()
        stamp = metrics.AUDIT_VERIFY_LAST_SUCCESS.value
        job.start(drain)
        try:
            for _ in range(200):
                if metrics.AUDIT_VERIFY_LAST_SUCCESS.value != stamp:
                    break
                await asyncio.sleep(0.05)
            assert metrics.AUDIT_VERIFY_LAST_SUCCESS.value != stamp
            drain.begin()
            for _ in range(100):
                if not job.running:
                    break
                await asyncio.sleep(0.05)
            assert not job.running
        finally:
            await job.stop()

    async def test_the_audit_service_runs_one_on_its_interval(self, system) -> None:
        runtime = system.runtime("audit")
        assert runtime.verify_job.running
        assert runtime.verify_job.interval_s == runtime.settings.audit_verify_interval_s

    @pytest.mark.parametrize("interval", [0, 59, 86401])
    async def test_an_interval_out_of_bounds_is_refused(self, interval: int) -> None:
        with pytest.raises(ValidationError, match="ALPR_AUDIT_VERIFY_INTERVAL_S"):
            AuditSettings(database_url="postgresql+asyncpg://a@h/d", audit_verify_interval_s=interval)  # type: ignore[arg-type]
