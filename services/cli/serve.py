"""`alpr serve <service>`: one service under uvicorn, with structured logs and a drain on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType
from typing import Any

import uvicorn

from libs.common.drain import Drain
from libs.common.logs import log_format_from_env, logging_config

# SIGTERM to stop listening: readiness fails at once, the listener stays open this long so requests routed
# before the endpoints update still land, then uvicorn stops accepting and waits for what is in flight
DEFAULT_DRAIN_S = 5.0
GRACEFUL_SHUTDOWN_S = 10


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM starts a drain instead of stopping at once."""

    def __init__(self, config: uvicorn.Config, *, drain_s: float) -> None:
        super().__init__(config)
        self.drain_s = drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._draining or self.drain_s <= 0:
            if sig == signal.SIGTERM:
                Drain.begin_all()
            super().handle_exit(sig, frame)
            return
        self._draining = True
        loop = asyncio.get_event_loop()
        # from a signal handler: hand the work to the loop, which signal.set_wakeup_fd has woken
        loop.call_soon_threadsafe(Drain.begin_all)
        loop.call_soon_threadsafe(loop.call_later, self.drain_s, super().handle_exit, sig, frame)


def drain_seconds() -> float:
    """`ALPR_DRAIN_S`: how long a SIGTERMed service keeps listening while its readiness fails."""
    raw = os.environ.get("ALPR_DRAIN_S", str(DEFAULT_DRAIN_S))
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"ALPR_DRAIN_S must be a number of seconds, not {raw!r}") from None
    if not 0 <= value <= 120:
        raise SystemExit("ALPR_DRAIN_S must be 0..120 seconds")
    return value


def serve(service: str, app: Any, *, host: str, port: int, workers: int, proxy: dict[str, Any]) -> None:
    """Run one service in the foreground until SIGTERM or SIGINT; exits non-zero if it failed to start."""
    level = os.environ.get("ALPR_LOG_LEVEL", "info")
    config = uvicorn.Config(
        app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host,
        port=port,
        log_config=logging_config(service, log_format=log_format_from_env(), level=level),
        log_level=level,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **proxy,
    )
    if workers > 1:
        # each worker is uvicorn's own server: SIGTERM stops it without the drain (the pod's preStop still waits)
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    config.load_app()
    server = DrainingServer(config, drain_s=drain_seconds())
    server.run()
    if not server.started:
        raise SystemExit(3)
