"""A draining gateway sends its live alert streams a closing event, so clients resume on another pod."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from libs.common.drain import Drain

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestAlertStreamDrain:
    async def test_an_open_stream_gets_a_closing_event_when_draining_begins(self, system: Any) -> None:
        runtime = system.runtime("gateway")
        saved, runtime.drain = runtime.drain, Drain()
        try:
            stream = asyncio.create_task(
                system.gateway.get("/v1/alerts/stream", params={"max_seconds": 60}, headers=system.token("officer"))
            )
            await asyncio.sleep(1.0)  # the stream is open and waiting for its next alert
            assert not stream.done()
            started = asyncio.get_running_loop().time()
            runtime.drain.begin()
            response = await asyncio.wait_for(stream, timeout=10)
            took = asyncio.get_running_loop().time() - started
        finally:
            runtime.drain = saved
        assert response.status_code == 200
        assert response.text.endswith("event: closing\ndata: draining\nretry: 1000\n\n")
        assert took < 5  # at once, not at the next 15 s keepalive
