"""What every service's FastAPI app has: typed error mapping, request telemetry, health, readiness, metrics."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.db import refused_value
from libs.common.drain import Drain
from libs.common.errors import AlprError, Unavailable
from libs.common.migrations import SchemaState
from libs.common.request_telemetry import RequestTelemetry

log = logging.getLogger(__name__)
_FRAMEWORK_CODES = {400: "malformed_payload", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


@dataclass(kw_only=True)
class ServiceState:
    """What every service process owns, as readiness and the drain see it.

    Each service's lifespan builds its own typed subclass (its settings, unit of work, caches) and puts it
    on `app.state.runtime`; its routes reach it through typed dependencies, never through an untyped dict.
    """

    service: str
    bus: Bus
    engine: AsyncEngine | None = None  # None only for a service without a database (the recognizer)
    drain: Drain = field(default_factory=Drain)


def error_response(err: AlprError, service: str) -> JSONResponse:
    """The one mapping from a typed error to HTTP."""
    metrics.ERRORS.labels(service, err.code).inc()
    headers = {k: str(v) for k, v in err.details.get("headers", {}).items()} if err.details else {}
    if err.status == 401 and not any(k.lower() == "www-authenticate" for k in headers):
        # RFC 9110 §11.6.1: a 401 names the scheme it wants; a refused credential is RFC 6750's invalid_token
        headers["WWW-Authenticate"] = 'Bearer realm="alpr", error="invalid_token"'
    body = err.to_body()
    body.get("details", {}).pop("headers", None)
    if "details" in body and not body["details"]:
        body.pop("details")
    return JSONResponse({"error": body}, status_code=err.status, headers=headers)


def outage_response(err: DBAPIError | OSError, path: str, service: str) -> JSONResponse:
    """A lost database, or a refused or reset connection to PostgreSQL or NATS, is a dependency outage:
    fail closed with a retryable answer (nothing was half-written)."""
    if isinstance(err, DBAPIError) and (refusal := refused_value(err)) is not None:
        log.warning("database refused a value on %s: %s", path, err.orig if err.orig else err)
        return error_response(refusal, service)
    if isinstance(err, DBAPIError):
        log.warning("database error on %s: %s", path, err.orig if err.orig else err)
        return error_response(Unavailable("the database is unavailable; retry", code="database_unavailable"), service)
    log.warning("dependency unreachable on %s: %s", path, err)
    return error_response(Unavailable("a dependency is unavailable; retry", code="dependency_unavailable"), service)


def common_middleware(service: str, *, quiet_success: bool = False) -> list[Middleware]:
    """The middleware every app of a service runs, outermost first: its FastAPI app and any sub-application
    (the gateway's camera posts) alike, so one added here reaches every path."""
    return [Middleware(RequestTelemetry, service=service, quiet_success=quiet_success)]


def error_handlers(service: str) -> dict[Any, Callable[[Request, Any], Awaitable[Response]]]:
    """The one mapping of typed errors and dependency outages to HTTP, for an app or a sub-application."""

    async def alpr_error(request: Request, err: AlprError) -> Response:
        return error_response(err, service)

    async def outage(request: Request, err: DBAPIError | OSError) -> Response:
        return outage_response(err, request.url.path, service)

    return {AlprError: alpr_error, DBAPIError: outage, OSError: outage}


def install_common(app: FastAPI, service: str) -> None:
    """Error handlers, request telemetry and the operator endpoints every service answers."""
    for middleware in reversed(common_middleware(service)):
        app.add_middleware(middleware.cls, *middleware.args, **middleware.kwargs)
    for kind, handler in error_handlers(service).items():
        app.add_exception_handler(kind, handler)
    app.state.schema = SchemaState.for_service(service)

    @app.exception_handler(StarletteHTTPException)
    async def _framework_refusal(request: Request, err: StarletteHTTPException) -> JSONResponse:
        # the framework's own refusals (a body it cannot decode, an unknown path or method) in the one envelope
        code = _FRAMEWORK_CODES.get(err.status_code, "http_error")
        metrics.ERRORS.labels(service, code).inc()
        body = {"code": code, "message": err.detail if isinstance(err.detail, str) else code.replace("_", " ")}
        return JSONResponse({"error": body}, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError) -> JSONResponse:
        errors = err.errors()
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in errors]
        metrics.ERRORS.labels(service, "invalid_request").inc()
        # each field's reason, as stable as the code: pydantic's type ("missing", "string_too_long") or our rule's
        # own ("plate_too_short"), so a program can tell a separator-only plate from a missing one
        reasons = {field: str(e.get("type", "invalid")) for field, e in zip(fields, errors, strict=True)}
        body = {
            "code": "invalid_request",
            "message": "the request is not valid",
            "fields": fields,
            "details": {"reasons": reasons},
        }
        return JSONResponse({"error": body}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        runtime: ServiceState | None = getattr(request.app.state, "runtime", None)
        checks = {"nats": bool(runtime and runtime.bus.connected)}
        if runtime and runtime.engine is not None:
            try:
                async with runtime.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                    checks["database"] = True
                    # a pod whose image expects migrations not yet applied must take no traffic
                    checks["schema"] = await request.app.state.schema.is_current(conn)
            except Exception as exc:
                log.warning("readiness: database unreachable: %s", exc)
                checks["database"] = False
        # draining: the load balancer stops sending new requests before the server stops listening
        draining = runtime is not None and runtime.drain.started
        ready = runtime is not None and not draining and all(checks.values())
        body: dict[str, Any] = {"ready": ready, "checks": checks}
        if draining:
            body["draining"] = True
        if checks.get("schema") is False:
            body["schema_missing"] = sorted(request.app.state.schema.missing)
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        body, content_type = metrics.exposition(service)
        return PlainTextResponse(body, media_type=content_type)
