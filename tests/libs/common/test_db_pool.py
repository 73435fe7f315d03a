"""Issue 27: each process opens at most ALPR_DB_POOL_SIZE + ALPR_DB_MAX_OVERFLOW connections."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from libs.common.db import create_engine
from services.audit.settings import AuditSettings
from services.records.settings import RecordsSettings

URL = "postgresql+asyncpg://x@db/alpr"


class TestPoolSettings:
    def test_each_service_reads_its_own_pool_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ALPR_DB_POOL_SIZE", "3")
        monkeypatch.setenv("ALPR_DB_MAX_OVERFLOW", "2")
        records = RecordsSettings(database_url=URL)
        assert (records.db_pool_size, records.db_max_overflow) == (3, 2)
        monkeypatch.delenv("ALPR_DB_POOL_SIZE")
        monkeypatch.delenv("ALPR_DB_MAX_OVERFLOW")
        audit = AuditSettings(database_url=URL)
        assert (audit.db_pool_size, audit.db_max_overflow) == (10, 10)  # the default, as before issue 27

    @pytest.mark.parametrize("values", [{"db_pool_size": 0}, {"db_pool_size": 101}, {"db_max_overflow": -1}])
    def test_a_pool_out_of_bounds_is_refused_at_start_up(self, values: dict[str, int]) -> None:
        with pytest.raises(ValueError, match="ALPR_DB_POOL_SIZE"):
            RecordsSettings(database_url=URL, **values)


class TestEnginePool:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_no_more_than_pool_plus_overflow_connections_are_opened(self, stack: Any) -> None:
        url = stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        engine = create_engine(url, schema="pool_test", pool_size=1, max_overflow=1)
        try:
            first, second = await engine.connect(), await engine.connect()
            count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'alpr-pool_test'"
            assert (await first.execute(text(count))).scalar() == 2
            with pytest.raises(TimeoutError):  # a third waits for one of the two to come back
                await asyncio.wait_for(engine.connect(), timeout=0.5)
            await second.close()  # an overflow connection is closed on return, a pooled one kept
            await first.close()
        finally:
            await engine.dispose()
