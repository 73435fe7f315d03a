"""The raw-driver helper: a bulk statement on asyncpg belongs to the unit of work's transaction (issue #7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.db import UnitOfWork, create_engine, driver_connection, driver_fetch, driver_fetchval

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCHEMA = "db_helper_test"


@pytest_asyncio.fixture(loop_scope="session")
async def engine(stack: Any) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), schema=SCHEMA)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.execute(text(f"CREATE TABLE {SCHEMA}.kept (n int)"))
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
        await engine.dispose()


async def kept(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(text(f"SELECT n FROM {SCHEMA}.kept ORDER BY n"))]


class Rollback(Exception):
    """Raised inside a unit of work to make it roll back."""


class TestDriverConnection:
    async def test_a_first_raw_statement_is_rolled_back_with_the_unit_of_work(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        with pytest.raises(Rollback):
            async with uow() as session:
                driver = await driver_connection(session)
                await driver.executemany(f"INSERT INTO {SCHEMA}.kept VALUES ($1)", [(1,), (2,)])
                raise Rollback
        assert await kept(engine) == []

    async def test_a_first_raw_statement_is_committed_with_the_unit_of_work(self, engine: AsyncEngine) -> None:
        async with UnitOfWork(engine)() as session:
            driver = await driver_connection(session)
            await driver.execute(f"INSERT INTO {SCHEMA}.kept VALUES (3)")
        assert await kept(engine) == [3]

    async def test_raw_and_sqlalchemy_statements_share_one_transaction(self, engine: AsyncEngine) -> None:
        async with UnitOfWork(engine)() as session:
            before = (await session.execute(text("SELECT txid_current()"))).scalar_one()
            driver = await driver_connection(session)
            assert await driver.fetchval("SELECT txid_current()") == before
            await driver.execute(f"INSERT INTO {SCHEMA}.kept VALUES (4)")
            # the session sees the driver's uncommitted row: the same transaction, not a second one
            seen = (await session.execute(text(f"SELECT count(*) FROM {SCHEMA}.kept WHERE n = 4"))).scalar_one()
            assert seen == 1
            assert (await driver_connection(session)) is driver


class TestDriverFetchval:
    async def test_a_first_value_begins_the_unit_of_works_transaction(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        with pytest.raises(Rollback):
            async with uow() as session:
                driver, txid = await driver_fetchval(session, "SELECT txid_current() + $1", 0)
                assert driver.is_in_transaction()
                # what follows on the driver is in the transaction the first value began, and goes with it
                assert await driver.fetchval("SELECT txid_current()") == txid
                await driver.execute(f"INSERT INTO {SCHEMA}.kept VALUES (5)")
                raise Rollback
        assert 5 not in await kept(engine)

    async def test_inside_a_begun_transaction_it_runs_on_the_driver(self, engine: AsyncEngine) -> None:
        async with UnitOfWork(engine)() as session:
            before = (await session.execute(text("SELECT txid_current()"))).scalar_one()
            _, txid = await driver_fetchval(session, "SELECT txid_current()")
            assert txid == before
            _, days = await driver_fetchval(session, "SELECT ARRAY[current_date, current_date - 1]")
            assert len(days) == 2


class TestDriverFetch:
    async def test_first_rows_begin_the_unit_of_works_transaction(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        with pytest.raises(Rollback):
            async with uow() as session:
                driver, rows = await driver_fetch(
                    session, "SELECT txid_current() AS txid, n FROM generate_series(1, $1) AS n ORDER BY n", 3
                )
                assert driver.is_in_transaction()
                assert [r["n"] for r in rows] == [1, 2, 3] and len({r["txid"] for r in rows}) == 1
                # what follows on the driver is in the transaction the rows began, and goes with it
                assert await driver.fetchval("SELECT txid_current()") == rows[0]["txid"]
                await driver.execute(f"INSERT INTO {SCHEMA}.kept VALUES (6)")
                raise Rollback
        assert 6 not in await kept(engine)

    async def test_inside_a_begun_transaction_it_runs_on_the_driver(self, engine: AsyncEngine) -> None:
        async with UnitOfWork(engine)() as session:
            driver = await driver_connection(session)
            txid = await driver.fetchval("SELECT txid_current()")
            _, rows = await driver_fetch(session, "SELECT txid_current() AS txid WHERE $1", False)
            assert rows == []
            _, [row] = await driver_fetch(session, "SELECT txid_current() AS txid")
            assert row["txid"] == txid


class TestAlone:
    async def test_a_statement_alone_is_committed_when_it_returns(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        async with uow.alone() as driver:
            assert not driver.is_in_transaction()
            assert await driver.fetchval(f"INSERT INTO {SCHEMA}.kept VALUES (7) RETURNING n") == 7
            assert 7 in await kept(engine)  # seen from another connection before this one is handed back
        await uow.close()

    async def test_the_next_statement_alone_reuses_the_connection_without_the_pool(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        async with uow.alone() as driver:
            backend = await driver.fetchval("SELECT pg_backend_pid()")
        checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
        async with uow.alone() as driver:
            assert await driver.fetchval("SELECT pg_backend_pid()") == backend
            assert engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]
        await uow.close()
        assert engine.pool.checkedout() == checked_out - 1  # type: ignore[attr-defined]

    async def test_two_at_once_each_get_their_own_connection(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        async with uow.alone() as first, uow.alone() as second:
            assert first is not second
        async with uow.alone() as again, uow.alone() as again_too:  # both kept: both used again
            assert {again, again_too} == {first, second}
        await uow.close()

    async def test_a_connection_after_an_error_goes_back_to_the_pool(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
        with pytest.raises(Rollback):
            async with uow.alone():
                raise Rollback
        assert engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]
        async with uow.alone():
            pass
        assert engine.pool.checkedout() == checked_out + 1  # type: ignore[attr-defined]
        await uow.close()

    async def test_after_close_nothing_is_kept(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
        async with uow.alone():
            await uow.close()  # a shutdown while a statement alone is in flight
        assert engine.pool.checkedout() == checked_out  # type: ignore[attr-defined]

    async def test_a_kept_connection_postgresql_closed_is_replaced(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        async with uow.alone() as driver:
            backend = await driver.fetchval("SELECT pg_backend_pid()")
        async with engine.connect() as other:
            await other.execute(text(f"SELECT pg_terminate_backend({backend})"))
        for _ in range(100):  # asyncpg sees the socket close as it happens
            if driver.is_closed():
                break
            await asyncio.sleep(0.01)
        async with uow.alone() as replaced:
            assert replaced is not driver
            assert await replaced.fetchval("SELECT pg_backend_pid()") != backend
        await uow.close()

    async def test_kept_connections_never_take_a_small_pool_from_units_of_work(self, stack: Any) -> None:
        # an operator's ALPR_DB_POOL_SIZE=2, ALPR_DB_MAX_OVERFLOW=0: two ingest pipelines' statements alone at
        # once must not keep both connections, or every transaction (an alert, a search) waits out the pool
        small = create_engine(
            stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            schema=SCHEMA,
            pool_size=2,
            max_overflow=0,
        )
        uow = UnitOfWork(small)
        try:
            async with uow.alone() as first, uow.alone() as second:
                await first.fetchval("SELECT 1")
                await second.fetchval("SELECT 1")
            async with asyncio.timeout(5):
                async with uow() as session:
                    assert (await session.execute(text("SELECT 2"))).scalar() == 2
        finally:
            await uow.close()
            await small.dispose()

    async def test_its_connection_goes_back_to_the_pool_in_no_transaction(self, engine: AsyncEngine) -> None:
        uow = UnitOfWork(engine)
        with pytest.raises(Rollback):
            async with uow.alone() as driver:
                await driver.execute(f"INSERT INTO {SCHEMA}.kept VALUES (8)")
                raise Rollback
        assert 8 in await kept(engine)  # the statement was its own transaction: nothing to roll back
        async with uow() as session:  # and a unit of work after it begins and commits as ever
            await (await driver_connection(session)).execute(f"INSERT INTO {SCHEMA}.kept VALUES (9)")
        assert 9 in await kept(engine)
