"""Fixtures of the audit service's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio


@pytest_asyncio.fixture(loop_scope="session")
async def admin_db(system: Any) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        yield conn
    finally:
        await conn.close()
