"""One async engine per process and one session per unit of work, in the service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry import trace
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

tracer = trace.get_tracer("alpr.db")


def create_engine(url: str, *, schema: str, pool_size: int = 10) -> AsyncEngine:
    """Engine whose connections resolve unqualified names in the service's schema only."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # bulk paths use the raw asyncpg connection, which SQLAlchemy cannot see fail; the ping on
        # checkout keeps a connection killed by a PostgreSQL restart from being handed out forever
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": schema, "application_name": f"alpr-{schema}"}},
    )


class UnitOfWork:
    """Opens one session; the owner commits, and only then may a message be acked."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._factory = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
        self._role = engine.url.username or "db"

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        # one span per transaction, so a trace shows each service's database work
        with tracer.start_as_current_span(
            "db.transaction", attributes={"db.system": "postgresql", "db.user": self._role}
        ):
            async with self._factory() as session, session.begin():
                yield session


def asyncpg_dsn(url: str) -> str:
    """The plain libpq form of an SQLAlchemy URL, for asyncpg and psql."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
