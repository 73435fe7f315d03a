"""Camera posts: native reads and vendor payloads, unchanged, a thousand a second per replica.

A photograph with no read (`POST /v1/ingest/image`, api/camera_frames.py) is a camera post too, served here
ahead of the vendor route, which would otherwise take "image" for a vendor's name.
The FastAPI routes below are the documented contract (OpenAPI, and FastAPI serves them if called directly).
In the running gateway these four paths go to `camera_posts_app`, a Starlette sub-application with the
same handler, the middleware every gateway route runs and the one error mapping (libs/common/web.py):
it skips the gateway's hundred-route table, dependency solving and the input door's second parse of the
body (the payload parser applies the same rules read by read), which cost more than the post's own work.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request, Response
from opentelemetry import propagate, trace
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Scope

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


def camera_posts_app(gateway: FastAPI) -> Starlette:
    """The camera posts as a sub-application of `gateway`: its four routes, the common middleware (camera
    posts counted and timed, logged only when refused) and the common error mapping."""

    def answering(route: str, fixed_format: str | None) -> Route:
        async def answer(request: Request) -> Response:
            """The camera's credential, the payload, JetStream's acks, 202."""
            rt: GatewayState = gateway.state.runtime
            fmt = request.path_params["fmt"] if route == _VENDOR_ROUTE else fixed_format
            try:
                camera = await current_camera(request, rt)
                reply = await _ingest(request, camera, rt, fmt, route)
            except (AlprError, DBAPIError, OSError):
                raise  # answered by the common error mapping
            except Exception as exc:
                log.exception("camera post to %s failed", request.scope["path"])
                raise AlprError("the read could not be taken; retry") from exc
            return Response(reply.model_dump_json(), status_code=202, media_type="application/json")

        return Route(route, answer, methods=["POST"])

    return Starlette(
        # the frame route first: the vendor route's {fmt} would match "image"
        routes=[
            frame_post_route(gateway),
            *(answering(route, fmt) for route, fmt in (*_FIXED.items(), (_VENDOR_ROUTE, None))),
        ],
        middleware=common_middleware("gateway", quiet_success=True),
        exception_handlers=error_handlers("gateway"),
    )


async def _ingest(request: Request, camera: Camera, rt: GatewayState, fmt: str | None, route: str) -> IngestReply:
    # a camera agent's own traceparent, if it sends one
    caller = propagate.extract(request.headers) if "traceparent" in request.headers else None
    with hot_path_span(
        tracer,
        f"POST {route}",
        context=caller,
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": "POST", "http.route": route, "alpr.camera": camera.camera_id},
    ):
        return await _accept(request, camera, rt, fmt)


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes", code="payload_too_large")
    # read with a running bound: a chunked post declares no length, and must not be held whole before refused
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes", code="payload_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _accept(request: Request, camera: Camera, rt: GatewayState, fmt: str | None) -> IngestReply:
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
    metrics.INGESTED.labels(parsed.format).inc(len(parsed.reads) - duplicates)
    rt.camera_seen[camera.camera_id] = now
    return IngestReply(
        format=parsed.format,
        kind=parsed.kind,
        accepted=len(parsed.reads),
        duplicates=duplicates,
        read_ids=[r.read_id for r in parsed.reads],
        rejected=parsed.rejected,
    )


@router.post("/v1/reads", status_code=202, response_model=IngestReply, openapi_extra={"requestBody": NATIVE_BODY})
async def post_reads(request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """Native reads: one object or `{"reads": [...]}` of up to 1,000; 202 once JetStream holds them all."""
    return await _ingest(request, camera, rt, "native", "/v1/reads")


@router.post("/v1/ingest", status_code=202, response_model=IngestReply, openapi_extra={"requestBody": VENDOR_BODY})
async def post_vendor_detect(request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """A vendor payload whose format is detected from its content."""
    return await _ingest(request, camera, rt, None, "/v1/ingest")


@router.post(
    "/v1/ingest/{fmt}", status_code=202, response_model=IngestReply, openapi_extra={"requestBody": VENDOR_BODY}
)
async def post_vendor(fmt: VendorFormat, request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """A vendor payload, unchanged, in the named format."""
    return await _ingest(request, camera, rt, fmt, "/v1/ingest/{fmt}")


@router.post("/push/", status_code=202, response_model=IngestReply, include_in_schema=False)
async def post_openalpr_agent(request: Request, camera: CameraDep, rt: StateDep) -> IngestReply:
    """Where OpenALPR agents post by default."""
    return await _ingest(request, camera, rt, "openalpr", "/push/")
