"""One unit of work per request (api/deps.py): committed when the route returns, rolled back when it raises."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from services.gateway import repository
from services.gateway.api.deps import request_session
from services.gateway.state import GatewayState

pytestmark = pytest.mark.asyncio(loop_scope="session")

# a day no access is ever counted on, so these rows meet no completeness check
OFF_DAY = date(2000, 1, 1)


async def counted(state: GatewayState, kind: str) -> int | None:
    async with state.uow() as session:
        row = await session.execute(
            text("SELECT count FROM access_tally WHERE day = :d AND event_type = :t"), {"d": OFF_DAY, "t": kind}
        )
        found = row.scalar_one_or_none()
    return None if found is None else int(found)


def gateway(system: Any) -> GatewayState:
    state = system.runtime("gateway")
    assert isinstance(state, GatewayState)
    return state


class TestRequestSession:
    async def test_what_a_route_wrote_is_committed_when_it_returns(self, system) -> None:  # type: ignore[no-untyped-def]
        state, kind = gateway(system), f"test_{uuid.uuid4().hex[:12]}"
        opened = request_session(state)
        session = await anext(opened)
        await repository.tally_access(session, day=OFF_DAY, event_type=kind, delta=2)
        assert await counted(state, kind) is None  # not visible to another transaction before the route ends
        with pytest.raises(StopAsyncIteration):
            await anext(opened)
        assert await counted(state, kind) == 2

    async def test_what_a_route_wrote_is_rolled_back_when_it_raises(self, system) -> None:  # type: ignore[no-untyped-def]
        state, kind = gateway(system), f"test_{uuid.uuid4().hex[:12]}"
        opened = request_session(state)
        session = await anext(opened)
        await repository.tally_access(session, day=OFF_DAY, event_type=kind)
        with pytest.raises(LookupError, match="refused after writing"):
            await opened.athrow(LookupError("refused after writing"))
        assert await counted(state, kind) is None

    async def test_a_route_on_the_request_session_answers(self, system) -> None:  # type: ignore[no-untyped-def]
        """GET /v1/approvals reads through the request's session; what it lists is what was committed."""
        answer = await system.gateway.get("/v1/approvals", headers=system.token("supervisor"))
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json(), list)
