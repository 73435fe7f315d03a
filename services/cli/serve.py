"""`alpr serve <service>`: one service under uvicorn, with structured logs and a drain on SIGTERM."""

from __future__ import annotations

import asyncio
import difflib
import os
import signal
from collections.abc import Mapping
from types import FrameType
from typing import Any

import uvicorn

from libs.common.drain import Drain
from libs.common.logs import log_format_from_env, logging_config

# SIGTERM to stop listening: readiness fails at once, the listener stays open this long so requests routed
# before the endpoints update still land, then uvicorn stops accepting and waits for what is in flight
DEFAULT_DRAIN_S = 5.0
GRACEFUL_SHUTDOWN_S = 10

# `ALPR_*` variables read outside the services' settings classes: by this launcher and `alpr` (main.py, tools.py,
# libs/common/logs.py), by the test suite and the examples. One config.env feeds every pod, so these may be set.
TOOLING_VARIABLES = frozenset(
    {
        "ALPR_ADMIN_DATABASE_URL",
        "ALPR_CHROMEDRIVER",
        "ALPR_DATA_DIR",
        "ALPR_DEBUG",
        "ALPR_DRAIN_S",
        "ALPR_FUZZ_ONLY",
        "ALPR_FUZZ_REPORT",
        "ALPR_GATEWAY_PORT",
        "ALPR_GATEWAY_WORKERS",
        "ALPR_HTTP_HOST",
        "ALPR_HTTP_PORT",
        "ALPR_HTTP_WORKERS",
        "ALPR_LOG_FORMAT",
        "ALPR_LOG_LEVEL",
        "ALPR_NATS_FILE_STORE_BYTES",
        "ALPR_NATS_STREAM_REPLICAS",
        "ALPR_OPERATOR",
        "ALPR_PARTNER_CLIENT_SECRET",
        "ALPR_SHARED_DIR",
        "ALPR_TEST_OUTPUT_DIR",
        "ALPR_TEST_WITHOUT_RECOGNIZER",
    }
)


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


def known_variables() -> frozenset[str]:
    """Every `ALPR_*` name some service's settings or the tooling reads: the union, as one config.env feeds all."""
    # the launcher is the one package that may import every service (tests/test_boundaries.py)
    from services.audit.settings import AuditSettings
    from services.gateway.settings import GatewaySettings
    from services.recognizer.settings import RecognizerSettings
    from services.records.settings import RecordsSettings
    from services.sharing.settings import SharingSettings

    names = set(TOOLING_VARIABLES)
    for settings in (AuditSettings, GatewaySettings, RecognizerSettings, RecordsSettings, SharingSettings):
        prefix = str(settings.model_config.get("env_prefix", ""))
        names.update(f"{prefix}{field}".upper() for field in settings.model_fields)
    return frozenset(names)


def unknown_variable_problems(environ: Mapping[str, str]) -> list[str]:
    """One line per `ALPR_*` variable no service or tool reads, naming the closest known name."""
    known = known_variables()
    problems = []
    for name in sorted(n for n in environ if n.upper().startswith("ALPR_") and n.upper() not in known):
        (closest,) = difflib.get_close_matches(name.upper(), known, n=1, cutoff=0.0)
        problems.append(f"{name} is no setting of any service (the closest is {closest})")
    return problems


def refuse_unknown_variables(environ: Mapping[str, str]) -> None:
    """Refuse to start on a misspelled setting: pydantic would ignore it and the default would rule silently."""
    problems = unknown_variable_problems(environ)
    if problems:
        raise SystemExit("settings refused: " + "; ".join(problems))


def serve(service: str, app: Any, *, host: str, port: int, workers: int, proxy: dict[str, Any]) -> None:
    """Run one service in the foreground until SIGTERM or SIGINT; exits non-zero if it failed to start."""
    refuse_unknown_variables(os.environ)
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
