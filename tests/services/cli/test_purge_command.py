"""`alpr purge --now`, the restore runbook's step before traffic: it exits 0 only once a purge of its own ran, and
waits out one already running instead of letting the Job complete with nothing purged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from services.cli import tools
from services.records.retention.repository import PURGE_LOCK
from tests.services.cli.test_operator_commands import cli

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def local_stack(system: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALPR_NATS_URL", "ALPR_NATS_USER", "ALPR_NATS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALPR_DATA_DIR", str(system.stack.data_dir))
    monkeypatch.setattr(tools, "PURGE_RETRY_S", 0.2)


async def holding_the_purge_lock(system: Any) -> asyncpg.Connection:
    """A connection in a transaction holding the purge's advisory lock, as a running purge does."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    await conn.execute("BEGIN")
    await conn.execute(f"SELECT pg_advisory_xact_lock({PURGE_LOCK})")
    return conn


class TestPurgeNow:
    async def test_a_purge_that_never_gets_the_lock_exits_3(
        self, system: Any, local_stack: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        monkeypatch.setattr(tools, "PURGE_WAIT_S", 1.0)
        conn = await holding_the_purge_lock(system)
        try:
            assert await cli(["purge", "--now"]) == 3
        finally:
            await conn.close()
        out, err = capsys.readouterr()
        assert json.loads(out)["ran"] is False
        assert "another purge is running" in err and err.rstrip().endswith("run it again")

    async def test_it_waits_out_a_running_purge_and_then_runs_its_own(
        self, system: Any, local_stack: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        monkeypatch.setattr(tools, "PURGE_WAIT_S", 60.0)
        conn = await holding_the_purge_lock(system)

        async def release_soon() -> None:
            await asyncio.sleep(1.0)
            await conn.close()  # the running purge finishes

        releasing = asyncio.create_task(release_soon())
        assert await cli(["purge", "--now"]) == 0
        await releasing
        out, err = capsys.readouterr()
        assert json.loads(out)["ran"] is True
        assert "another purge is running" in err
