"""A value PostgreSQL refuses (a NUL, a uuid that is not one) is the caller's 4xx, not an outage's 503 (issue #21)."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from libs.common.db import create_engine, refused_value
from libs.common.web import install_common

pytestmark = pytest.mark.asyncio(loop_scope="session")

REFUSED = [
    ("SELECT CAST(:v AS text)", "a\x00b"),  # PostgreSQL refuses it (SQLSTATE 22021)
    ("SELECT CAST(:v AS uuid)", "not-a-uuid"),  # PostgreSQL refuses it (22P02)
    ("SELECT :v = gen_random_uuid()", "not-a-uuid"),  # asyncpg refuses to encode it as a uuid argument
]


async def refusal_through_sqlalchemy(stack: Any, sql: str, value: str) -> BaseException:
    engine = create_engine(stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), schema="public")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql), {"v": value})
    except Exception as exc:
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("PostgreSQL accepted the value")


class TestRefusedValues:
    @pytest.mark.parametrize(("sql", "value"), REFUSED)
    async def test_through_sqlalchemy_it_is_invalid_value(self, stack: Any, sql: str, value: str) -> None:
        refusal = refused_value(await refusal_through_sqlalchemy(stack, sql, value))
        assert refusal is not None and refusal.status == 422 and refusal.code == "invalid_value"

    @pytest.mark.parametrize(("sql", "value"), REFUSED)
    async def test_from_a_raw_connection_it_is_invalid_value(self, stack: Any, sql: str, value: str) -> None:
        conn = await asyncpg.connect(stack.pg.admin_dsn)
        try:
            with pytest.raises(Exception) as raised:
                await conn.fetchval(sql.replace(":v", "$1"), value)
        finally:
            await conn.close()
        refusal = refused_value(raised.value)
        assert refusal is not None and refusal.code == "invalid_value"

    async def test_an_outage_is_not_a_refused_value(self, stack: Any) -> None:
        assert refused_value(ConnectionRefusedError(111, "refused")) is None
        assert refused_value(ValueError("a bug of ours")) is None

    async def test_a_route_answers_422_not_503(self, stack: Any) -> None:
        err = await refusal_through_sqlalchemy(stack, *REFUSED[0])
        app = FastAPI()
        install_common(app, "test")

        @app.get("/store")
        async def store() -> None:
            raise err

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/store")
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_value"
