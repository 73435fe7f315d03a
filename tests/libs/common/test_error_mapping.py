"""Dependency outages reach callers as a retryable 503 with a stable code, never a 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from libs.common.errors import InvalidInput
from libs.common.web import install_common

pytestmark = pytest.mark.asyncio(loop_scope="session")


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_common(app, "test")

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("exc", "status", "code"),
        [
            (ConnectionRefusedError(111, "Connection refused"), 503, "dependency_unavailable"),
            (OperationalError("SELECT 1", {}, Exception("server closed the connection")), 503, "database_unavailable"),
            (InvalidInput("bad", code="invalid_case_number"), 422, "invalid_case_number"),
        ],
    )
    async def test_status_and_code(self, exc: Exception, status: int, code: str) -> None:
        transport = httpx.ASGITransport(app=app_raising(exc))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom")
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
