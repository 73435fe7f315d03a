"""Per request: a request id (the caller's `X-Request-Id` when it is sane, else a new one), the RED metrics by
route template, and one access-log line with route, status and duration; never a header or a secret."""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common import metrics
from libs.common.logs import REQUEST_ID

access_log = logging.getLogger("alpr.access")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# probes and scrapes every few seconds would drown the lines an SRE reads; they are still counted
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNMATCHED = "unmatched"  # a path no route serves: one label value, so a scanner cannot grow the series
_SECRET_PARAMS = frozenset({"key", "api_key", "token", "access_token", "client_secret", "secret", "password", "code"})
# any token is a method to the server: a label value per invented method would grow the series without bound
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_from(scope: Scope) -> str:
    """The caller's request id if it is a short plain token (it reaches logs), else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _SANE_REQUEST_ID.fullmatch(text):
                return text
            break
    return os.urandom(16).hex()  # as random as uuid4's, at a sixth of its cost on the camera-post path


def route_of(scope: Scope) -> str:
    """The route template that served the request (`/v1/reads/{read_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def loggable_path(scope: Scope) -> str:
    """The path with its query, secret-bearing parameters (`key`, `client_secret` …) redacted."""
    path = str(scope.get("path", ""))
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return path
    pairs = [
        (k, "[redacted]" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(query, keep_blank_values=True)
    ]
    return f"{path}?{urlencode(pairs, safe='[]')}"


def record_request(scope: Scope, service: str, *, route: str, status: int, started: float, quiet: bool = False) -> None:
    """Count and time one answered request and write its access-log line (at debug when `quiet` and fine)."""
    elapsed = time.perf_counter() - started
    method = str(scope.get("method", ""))
    method = method if method in _METHODS else "OTHER"
    count, duration = _series(service, route, method, status)
    count.inc()
    duration.observe(elapsed)
    level = logging.DEBUG if (quiet or scope.get("path") in _QUIET_PATHS) and status < 400 else logging.INFO
    if access_log.isEnabledFor(level):
        client = scope.get("client")
        access_log.log(
            level,
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "path": loggable_path(scope),
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client": client[0] if client else None,
            },
        )


# the labelled series of each (service, route, method, status): looking a child up by its labels cost more
# than recording into it; bounded, since routes are templates and methods and statuses are few
_SERIES: dict[tuple[str, str, str, int], tuple[Any, Any]] = {}


def _series(service: str, route: str, method: str, status: int) -> tuple[Any, Any]:
    key = (service, route, method, status)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (
            metrics.HTTP_REQUESTS.labels(service, route, method, str(status)),
            metrics.HTTP_DURATION.labels(service, route, method),
        )
    return found


class RequestTelemetry:
    """ASGI middleware, inside the tracing middleware so its log line carries the request's trace id.

    `quiet_success` logs accepted requests at debug (the gateway's camera posts, libs/common/web.py's
    common_middleware): a thousand camera posts a second are counted, and only the refused ones are worth a
    line each.
    """

    def __init__(self, app: ASGIApp, service: str, *, quiet_success: bool = False) -> None:
        self.app = app
        self.service = service
        self.quiet_success = quiet_success

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(scope)
        token = REQUEST_ID.set(request_id)
        status = 500  # what the client sees if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            record_request(
                scope, self.service, route=route_of(scope), status=status, started=started, quiet=self.quiet_success
            )
            REQUEST_ID.reset(token)
