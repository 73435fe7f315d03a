"""One async engine per process and one session per unit of work, in the service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from asyncpg.exceptions import InterfaceError
from opentelemetry import trace
from sqlalchemy import Connection, event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.errors import InvalidInput

tracer = trace.get_tracer("alpr.db")


def create_engine(url: str, *, schema: str, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """Engine whose connections resolve unqualified names in the service's schema only.

    At most pool_size + max_overflow connections (max_overflow defaults to pool_size); a service passes its
    ALPR_DB_POOL_SIZE and ALPR_DB_MAX_OVERFLOW, which deploy/k8s sums against PostgreSQL's max_connections.
    """
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        connect_args={"server_settings": {"search_path": schema, "application_name": f"alpr-{schema}"}},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A connection PostgreSQL closed (a restart, a terminated backend) is replaced, not handed out.

    Bulk paths use the raw asyncpg connection, which SQLAlchemy cannot see fail. asyncpg notices the
    server closing the socket as it happens, so this costs no round trip; `pool_pre_ping` cost three
    (BEGIN, a ping, ROLLBACK) on every checkout, about a sixth of records' work per small ingest batch.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the PostgreSQL connection is closed")


# How many connections `UnitOfWork.alone` keeps checked out between its statements: one per concurrent user
# (records' ingest pipelines, ALPR_INGEST_PIPELINES), so a burst does not hold the pool's connections out of it
# for good
ALONE_KEPT_AT_MOST = 4


class UnitOfWork:
    """Opens one session; the owner commits, and only then may a message be acked."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._factory = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._role = engine.url.username or "db"
        # connections a statement alone handed back whole, kept for the next one (see `alone`)
        self._kept: list[tuple[AsyncConnection, asyncpg.Connection]] = []
        self._keep_at_most = _keepable(engine)
        self._closed = False  # after close, nothing more is kept (a statement still in flight hands its back)

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        # one span per transaction, so a trace shows each service's database work
        with tracer.start_as_current_span(
            "db.transaction", attributes={"db.system": "postgresql", "db.user": self._role}
        ):
            async with self._factory() as session, session.begin():
                yield session

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[asyncpg.Connection]:
        """A driver connection in no transaction, for a unit of work that is one statement: PostgreSQL commits
        it before it answers, so it spends no BEGIN and COMMIT round trips (records' ingest of most batches).

        The connection is kept for the next statement alone when this one returned and left it open and in no
        transaction: a checkout from SQLAlchemy's pool and its return cost 126-135 us of CPU (in process, a
        loaded machine), a store of a few single reads about as much as its statement. Any other way out (an
        error, a cancellation, a connection PostgreSQL closed) hands it back to the pool as before; `close`
        hands back the kept ones.
        """
        with tracer.start_as_current_span(
            "db.statement", attributes={"db.system": "postgresql", "db.user": self._role}
        ):
            held = self._kept.pop() if self._kept else None
            if held is not None and held[1].is_closed():  # PostgreSQL restarted or ended the backend meanwhile
                await _discard(held[0])
                held = None
            if held is None:
                held = await _checkout(self._engine)
            connection, driver = held
            reusable = False
            try:
                yield driver
                reusable = not driver.is_closed() and not driver.is_in_transaction()
            finally:
                if reusable and not self._closed and len(self._kept) < self._keep_at_most:
                    self._kept.append(held)
                elif driver.is_closed():
                    await _discard(connection)
                else:
                    await connection.close()

    async def close(self) -> None:
        """Hand the connections kept for statements alone back to the pool (before the engine is disposed)."""
        self._closed = True
        kept, self._kept = self._kept, []
        for connection, driver in kept:
            await (_discard(connection) if driver.is_closed() else connection.close())


def _keepable(engine: AsyncEngine) -> int:
    """How many connections `alone` may keep: ALONE_KEPT_AT_MOST, and never more than half of a bounded pool.

    A kept connection is out of the pool until `close`; a small pool (ALPR_DB_POOL_SIZE=2, no overflow) all
    kept would leave every unit of work waiting out the pool's timeout, each retried the same way.
    """
    size, overflow = getattr(engine.pool, "size", None), getattr(engine.pool, "_max_overflow", None)
    if not callable(size) or not isinstance(overflow, int) or overflow < 0:
        return ALONE_KEPT_AT_MOST  # a pool without a bound (NullPool, unlimited overflow) runs out of nothing
    return min(ALONE_KEPT_AT_MOST, (size() + overflow) // 2)


async def _discard(connection: AsyncConnection) -> None:
    """Give up a connection PostgreSQL closed: the pool opens another rather than reset this one (a rollback
    on a closed socket fails, and the pool would log it as an error)."""
    await connection.invalidate()
    await connection.close()


async def _checkout(engine: AsyncEngine) -> tuple[AsyncConnection, asyncpg.Connection]:
    """A pooled connection and its driver connection, in no transaction; the caller closes the connection."""
    connection = await engine.connect()
    try:
        return connection, await _driver_of(connection)
    except BaseException:
        await connection.close()
        raise


async def _driver_of(connection: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under a SQLAlchemy one; bulk statements and statements alone need that driver."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, asyncpg.Connection):
        raise TypeError("this unit of work needs an engine on the asyncpg driver")
    return driver


@asynccontextmanager
async def autocommit_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled driver connection in no transaction: each statement on it commits on its own before PostgreSQL
    answers, with no BEGIN and COMMIT round trips (a unit of work of one statement, a rate lease)."""
    async with engine.connect() as connection:
        yield await _driver_of(connection)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session, inside the session's own transaction, for bulk statements.

    Only public APIs: SQLAlchemy's asyncpg adapter sends BEGIN with its own first statement, and until then a
    statement on the driver would commit on its own, outside the unit of work (issue #7). When nothing has
    run yet, one statement on the adapter's DBAPI cursor begins the transaction SQLAlchemy commits or rolls
    back. A transaction of one raw statement measured 497 us so (2 shared cores, best of 15 x 300), 405 us
    through the adapter's private _start_transaction (one round trip fewer), 539 us with `exec_driver_sql`.
    """
    connection = await session.connection()
    driver = await _driver_of(connection)
    if not driver.is_in_transaction():
        await connection.run_sync(_begin)
    return driver


async def driver_fetchval(session: AsyncSession, sql: str, *args: Any) -> tuple[asyncpg.Connection, Any]:
    """The driver connection as `driver_connection` gives it, and the first value of `sql` run on it.

    For a statement that may be the transaction's first (a search's opening query): then it runs on the
    adapter's DBAPI cursor, which begins the transaction with it, so no `SELECT 1` round trip is spent
    (about 90 us of a 1 ms search); inside a begun transaction it runs on the driver directly.
    """
    connection = await session.connection()
    driver = await _driver_of(connection)
    if driver.is_in_transaction():
        return driver, await driver.fetchval(sql, *args)
    return driver, await connection.run_sync(_first_value, sql, args)


async def driver_fetch(session: AsyncSession, sql: str, *args: Any) -> tuple[asyncpg.Connection, list[Any]]:
    """The driver connection and every row of `sql`, run as `driver_fetchval` runs its statement.

    For ingest's insert, which opens its transaction: begun by it, the transaction spends no `SELECT 1`
    round trip, a fifth of its statements when single-read posts make it a few dozen reads.
    """
    connection = await session.connection()
    driver = await _driver_of(connection)
    if driver.is_in_transaction():
        return driver, await driver.fetch(sql, *args)
    return driver, await connection.run_sync(_all_rows, sql, args)


def _all_rows(connection: Connection, sql: str, args: tuple[Any, ...]) -> list[Any]:
    """`sql`'s rows from the DBAPI cursor, which sends BEGIN before it (asyncpg records, as the driver's)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _first_value(connection: Connection, sql: str, args: tuple[Any, ...]) -> Any:
    """`sql` on the DBAPI cursor (PEP 249; the adapter's `$n` parameters), which sends BEGIN before it."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, args)
        row = cursor.fetchone()
        return row[0] if row is not None else None
    finally:
        cursor.close()


def _begin(connection: Connection) -> None:
    """A statement on the DBAPI cursor (PEP 249), which makes the adapter send its BEGIN first."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()


def refused_value(err: BaseException) -> InvalidInput | None:
    """PostgreSQL (SQLSTATE class 22) or its driver refused a value the caller sent: a 4xx, not an outage.

    Through SQLAlchemy or from a raw asyncpg connection alike. The door's checks should make this
    unreachable; it keeps a value they missed from answering "retry" or 500.
    """
    orig = err.orig if isinstance(err, exc.DBAPIError) else err
    # asyncpg refuses an argument it cannot encode (a str for a uuid) before PostgreSQL sees it
    client_side = orig.__cause__ if isinstance(err, exc.DBAPIError) and orig is not None else orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(client_side, "sqlstate", None)
    argument_refused = isinstance(client_side, ValueError) and isinstance(client_side, InterfaceError)
    if (isinstance(sqlstate, str) and sqlstate.startswith("22")) or argument_refused:
        return InvalidInput("a value in the request cannot be stored or compared as sent", code="invalid_value")
    return None
