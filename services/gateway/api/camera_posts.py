"""Camera posts: native reads and vendor payloads, unchanged, a thousand a second per replica.

A photograph with no read (`POST /v1/ingest/image`, api/camera_frames.py) is a camera post too, served here
ahead of the vendor route, which would otherwise take "image" for a vendor's name.
The FastAPI routes below are the documented contract (OpenAPI, and FastAPI serves them if called directly).
In the running gateway these four paths go to `camera_posts_app`: one ASGI handler with the same work,
under the middleware every gateway route runs and answering failures with the one error mapping
(libs/common/web.py). It skips the gateway's hundred-route table, dependency solving, Starlette's routing
and exception layers, and the input door's second parse of the body (the payload parser applies the same
rules read by read), which together cost more than the post's own work.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request, Response
from opentelemetry import propagate, trace
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from libs.common import metrics
from libs.common.errors import AlprError, InvalidInput, PayloadTooLarge
from libs.common.telemetry import hot_path_span
from libs.common.web import common_middleware, error_handlers
from services.gateway.api.camera_bodies import NATIVE_BODY, VENDOR_BODY, VENDOR_FORMATS
from services.gateway.api.camera_frames import FRAME_ROUTE, frame_post_route
from services.gateway.api.deps import CameraDep, StateDep, current_camera
from services.gateway.ingest import parse_payload
from services.gateway.ingest.positions import place_at_camera
from services.gateway.models import Camera
from services.gateway.read_bundles import publish_reads
from services.gateway.state import GatewayState

log = logging.getLogger(__name__)
router = APIRouter(tags=["reads"])
tracer = trace.get_tracer("alpr.gateway.ingest")
# camera posts: traced by the lean span in _ingest, not the generic ASGI one (see setup_tracing)
INGEST_PATHS = (r"/v1/reads$", r"/v1/ingest(/[^/]+)?$", r"/push/$")
# route → format; None: detected from the content
_FIXED: dict[str, str | None] = {"/v1/reads": "native", "/v1/ingest": None, "/push/": "openalpr"}
_VENDOR_PREFIX = "/v1/ingest/"
_VENDOR_ROUTE = "/v1/ingest/{fmt}"
# documented as the known names; an unknown one is refused by the parser with `unknown_format`
VendorFormat = Annotated[str, Path(json_schema_extra={"enum": VENDOR_FORMATS})]


class IngestReply(BaseModel):
    """202: the reads in `read_ids` are held by JetStream and will be stored.

    `rejected` names each read of the post that was refused, as {"index", "code", "field", "message"} (a
    refused plate adds "plate_raw" and "reason"); the others are stored. A post whose every read is refused
    answers 422 `reads_rejected` instead, with the same entries under `details.rejected`.
    """

    format: str
    kind: str
    accepted: int
    duplicates: int
    read_ids: list[str]
    rejected: list[dict[str, Any]] = []


def camera_post(scope: Scope) -> tuple[str, str | None] | None:
    """(route, format) when this request is a camera post; None for every other request."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if path in _FIXED:
        return path, _FIXED[path]
    if path == FRAME_ROUTE:
        return FRAME_ROUTE, None
    fmt = path[len(_VENDOR_PREFIX) :] if path.startswith(_VENDOR_PREFIX) else ""
    if fmt and "/" not in fmt:
        return _VENDOR_ROUTE, fmt
    return None


def camera_posts_app(gateway: FastAPI) -> CameraPosts:
    """The camera posts as a sub-application of `gateway` (CameraPosts)."""
    return CameraPosts(gateway)


class CameraPosts:
    """The photograph route as a Starlette app, and the four read routes as one lean ASGI handler; both
    under the common middleware (camera posts counted and timed, logged only when refused) and answering
    failures through the common error mapping, so what is added for every route reaches these too."""

    def __init__(self, gateway: FastAPI) -> None:
        self.user_middleware = common_middleware("gateway", quiet_success=True)
        self.exception_handlers = error_handlers("gateway")
        self.frames = Starlette(
            routes=[frame_post_route(gateway)],
            middleware=self.user_middleware,
            exception_handlers=self.exception_handlers,
        )
        reads: ASGIApp = _ReadPosts(gateway, self.exception_handlers)
        for middleware in reversed(self.user_middleware):
            reads = middleware.cls(reads, *middleware.args, **middleware.kwargs)
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.frames if scope["path"] == FRAME_ROUTE else self.reads)(scope, receive, send)


class _ReadPosts:
    """The read routes without a router, dependency solving or exception middleware: a camera post's
    own work (its credential, its payload, JetStream's acks) was less than what those layers cost."""

    def __init__(self, gateway: FastAPI, handlers: dict[Any, Callable[[Request, Any], Awaitable[Response]]]) -> None:
        self.gateway = gateway
        self.handlers = handlers
        self.routes = {route: Route(route, _documented, methods=["POST"]) for route in (*_FIXED, _VENDOR_ROUTE)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = camera_post(scope)
        assert found is not None  # the gateway sends only camera posts here
        route, fmt = found
        scope["route"] = self.routes[route]  # the template the request metrics are labelled with
        request = Request(scope, receive)
        try:
            rt: GatewayState = self.gateway.state.runtime
            camera = await current_camera(request, rt)
            with _post_span(request, camera, route):  # as _ingest, one coroutine less to start and resume
                reply = await _accept(request, camera, rt, fmt)
        except Exception as exc:
            await (await self._failure(request, exc))(scope, receive, send)
            return
        body = _reply_json(reply)
        await send({"type": "http.response.start", "status": 202, "headers": _reply_headers(len(body))})
        await send({"type": "http.response.body", "body": body})

    async def _failure(self, request: Request, exc: Exception) -> Response:
        """The common mapping's answer; anything it does not map is a bug, answered as a retryable 500."""
        for kind in type(exc).__mro__:
            if kind in self.handlers:
                return await self.handlers[kind](request, exc)
        log.error("camera post to %s failed", request.scope["path"], exc_info=exc)
        return await self.handlers[AlprError](request, AlprError("the read could not be taken; retry"))


async def _documented(request: Request) -> Response:  # pragma: no cover - the routes below are what run
    raise AssertionError("camera posts are answered by _ReadPosts")


def _reply_headers(length: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]


# json.dumps with separators builds an encoder per call (3.4 -> 2.1 us a reply, in process)
_REPLY_ENCODER = json.JSONEncoder(separators=(",", ":"))
# a reply's start ({"format":…,"kind":…) by its format and kind; a string as the encoder writes it
_REPLY_HEADS: dict[tuple[str, str], str] = {}
_json_string = encode_basestring_ascii
# each format's ingest counter: labels() looked the child up under a lock on every post (3.4 -> 0.7 us)
_INGESTED: dict[str, Any] = {}


def _reply_json(reply: dict[str, Any]) -> bytes:
    """IngestReply's fields as JSON, written directly: building the model and serializing it cost more than
    a tenth of a single-read post. A reply with no refusal is joined from its parts, the same bytes as the
    encoder's: the encoder's per-call setup was a few percent of a single-read post."""
    if reply["rejected"]:
        return _REPLY_ENCODER.encode(reply).encode()
    head = _REPLY_HEADS.get((reply["format"], reply["kind"]))
    if head is None:  # the parsers' few names and kinds: as small as the registry
        head = _REPLY_HEADS[(reply["format"], reply["kind"])] = _REPLY_ENCODER.encode(
            {"format": reply["format"], "kind": reply["kind"]}
        )[:-1]
    ids = ",".join(map(_json_string, reply["read_ids"]))
    accepted, duplicates = int(reply["accepted"]), int(reply["duplicates"])
    return f'{head},"accepted":{accepted},"duplicates":{duplicates},"read_ids":[{ids}],"rejected":[]}}'.encode()


def _count_ingested(format_name: str, reads: int) -> None:
    counter = _INGESTED.get(format_name)
    if counter is None:  # formats are the parsers' few names: the cache stays as small as the registry
        counter = _INGESTED[format_name] = metrics.INGESTED.labels(format_name)
    counter.inc(reads)


async def _ingest(request: Request, camera: Camera, rt: GatewayState, fmt: str | None, route: str) -> dict[str, Any]:
    """IngestReply's fields for this post."""
    with _post_span(request, camera, route):
        return await _accept(request, camera, rt, fmt)


def _post_span(request: Request, camera: Camera, route: str) -> AbstractContextManager[None]:
    """The post's server span, where spans go anywhere (hot_path_span)."""
    # a camera agent's own traceparent, if it sends one
    caller = propagate.extract(request.headers) if "traceparent" in request.headers else None
    return hot_path_span(
        tracer,
        f"POST {route}",
        context=caller,
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": "POST", "http.route": route, "alpr.camera": camera.camera_id},
    )


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes", code="payload_too_large")
    # read with a running bound: a chunked post declares no length, and must not be held whole before refused.
    # The ASGI messages are taken here as Request.stream() takes them, without its async generator (a few
    # percent of a single-read post); nothing else reads a camera post's body.
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes", code="payload_too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _accept(request: Request, camera: Camera, rt: GatewayState, fmt: str | None) -> dict[str, Any]:
    body = await _body(request, rt.settings.max_body_bytes)
    now = datetime.now(UTC)
    parsed = parse_payload(
        body,
        request.headers.get("content-type", ""),
        format=fmt,
        agency=camera.agency,
        camera_id=camera.camera_id,
        received_at=now,
        active_retention_days=rt.settings.active_retention_days,
        clock_skew_s=rt.settings.clock_skew_s,
    )
    if parsed.rejected and not parsed.reads:
        # nothing in the post will be stored: a 202 would tell the camera otherwise
        raise InvalidInput("every read in the post was refused", code="reads_rejected", rejected=parsed.rejected)
    place_at_camera(parsed.reads, camera.latitude, camera.longitude)
    if parsed.replaces_preview:
        # a final group supersedes its preview; records removes the preview once the final is stored
        for read in parsed.reads:
            if "vendor_preview" not in read.flags:
                read.replaces = list(parsed.replaces_preview)
    if len(parsed.reads) == 1:
        duplicates = await rt.lone_reads.publish(parsed.reads[0])
    else:
        duplicates = await publish_reads(rt.bus, parsed.reads) if parsed.reads else 0
    _count_ingested(parsed.format, len(parsed.reads) - duplicates)
    rt.camera_seen[camera.camera_id] = now
    return {
        "format": parsed.format,
        "kind": parsed.kind,
        "accepted": len(parsed.reads),
        "duplicates": duplicates,
        "read_ids": [r.read_id for r in parsed.reads],
        "rejected": parsed.rejected,
    }


@router.post("/v1/reads", status_code=202, response_model=IngestReply, openapi_extra={"requestBody": NATIVE_BODY})
async def post_reads(request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """Native reads: one object or `{"reads": [...]}` of up to 1,000; 202 once JetStream holds them all."""
    return IngestReply(**await _ingest(request, camera, rt, "native", "/v1/reads"))


@router.post("/v1/ingest", status_code=202, response_model=IngestReply, openapi_extra={"requestBody": VENDOR_BODY})
async def post_vendor_detect(request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """A vendor payload whose format is detected from its content."""
    return IngestReply(**await _ingest(request, camera, rt, None, "/v1/ingest"))


@router.post(
    "/v1/ingest/{fmt}", status_code=202, response_model=IngestReply, openapi_extra={"requestBody": VENDOR_BODY}
)
async def post_vendor(fmt: VendorFormat, request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """A vendor payload, unchanged, in the named format."""
    return IngestReply(**await _ingest(request, camera, rt, fmt, "/v1/ingest/{fmt}"))


@router.post("/push/", status_code=202, response_model=IngestReply, include_in_schema=False)
async def post_openalpr_agent(request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """Where OpenALPR agents post by default."""
    return IngestReply(**await _ingest(request, camera, rt, "openalpr", "/push/"))
