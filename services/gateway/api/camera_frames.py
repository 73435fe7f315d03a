"""A camera's photograph in, its plates found later: `POST /v1/ingest/image` and `GET /v1/ingest/image/{frame_id}`.

The post is a camera post like the others: in the running gateway it is served by the camera posts'
sub-application (api/camera_posts.py), ahead of the vendor route `/v1/ingest/{fmt}`, which would otherwise take
"image" for a vendor's name; the FastAPI route below is its documented contract. It answers 202 once JetStream
holds the frame and the gateway has noted which camera posted it (services/gateway/frames.py). The GET is an
ordinary route: the camera that posted the frame asks records for its outcome; any other camera, like an unknown
id, is told the frame does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request, Response
from opentelemetry import propagate, trace
from sqlalchemy.exc import DBAPIError
from starlette.routing import Route

from libs.common.contracts.errors import ErrorEnvelope
from libs.common.contracts.frames import FRAME_STATUS, FrameStatus, FrameStatusRequest
from libs.common.errors import AlprError, NotFound, PayloadTooLarge, Unavailable
from libs.common.telemetry import hot_path_span
from services.gateway.api.deps import CameraDep, StateDep, current_camera
from services.gateway.api.frame_bodies import FRAME_BODY, FRAME_REFUSALS, FrameAccepted
from services.gateway.frames import camera_owns_frame, frame_in, publish_frame, record_frame
from services.gateway.ingest.frame_post import FRAME_BODY_MAX, parse_frame_post
from services.gateway.models import Camera
from services.gateway.state import GatewayState

log = logging.getLogger(__name__)
router = APIRouter(tags=["reads"])
tracer = trace.get_tracer("alpr.gateway.ingest")
FRAME_ROUTE = "/v1/ingest/image"
STATUS_TIMEOUT_S = 5.0
FrameId = Annotated[str, Path(min_length=1, max_length=64, description="The id the post answered")]


def frame_post_route(gateway: FastAPI) -> Route:
    """The post as a route of the camera posts' sub-application (the same handler as the documented route)."""

    async def answer(request: Request) -> Response:
        rt: GatewayState = gateway.state.runtime
        try:
            camera = await current_camera(request, rt)
            reply = await _traced(request, camera, rt)
        except (AlprError, DBAPIError, OSError):
            raise  # answered by the common error mapping
        except Exception as exc:
            log.exception("frame post failed")
            raise AlprError("the frame could not be taken; retry") from exc
        return Response(reply.model_dump_json(), status_code=202, media_type="application/json")

    return Route(FRAME_ROUTE, answer, methods=["POST"])


@router.post(
    FRAME_ROUTE,
    status_code=202,
    response_model=FrameAccepted,
    response_description="The stream holds the photograph; its outcome is at `status_url`",
    responses=FRAME_REFUSALS,
    openapi_extra={"requestBody": FRAME_BODY},
)
async def post_frame(request: Request, camera: CameraDep, rt: StateDep) -> FrameAccepted:
    """A photograph from any camera: every plate the recognizer finds in it becomes a read (vendor `image`).
    202 once the stream holds it; ask `status_url` for the outcome."""
    return await _traced(request, camera, rt)


@router.get(
    FRAME_ROUTE + "/{frame_id}",
    response_model=FrameStatus,
    response_description="The frame's outcome as records has it",
    responses={
        404: {"model": ErrorEnvelope, "description": "`frame_not_found`: unknown, or posted by another camera"},
        503: {"model": ErrorEnvelope, "description": "`records_unavailable`: records did not answer; ask again"},
    },
)
async def frame_status(frame_id: FrameId, camera: CameraDep, rt: StateDep) -> FrameStatus:
    """The outcome of a photograph this camera posted: `pending`, `read` (its read ids and plates),
    `no_plate` (no plate found in it) or `failed` (with the error's code)."""
    owned = await camera_owns_frame(rt.uow, frame_id=frame_id, agency=camera.agency, camera_id=camera.camera_id)
    if not owned:
        raise NotFound("no such frame", code="frame_not_found")
    request = FrameStatusRequest(frame_id=frame_id, agency=camera.agency, camera_id=camera.camera_id)
    try:
        return await rt.bus.call(FRAME_STATUS, request, timeout=STATUS_TIMEOUT_S)
    except Unavailable as exc:
        raise Unavailable("records did not answer; ask again", code="records_unavailable") from exc


async def _traced(request: Request, camera: Camera, rt: GatewayState) -> FrameAccepted:
    caller = propagate.extract(request.headers) if "traceparent" in request.headers else None
    with hot_path_span(
        tracer,
        f"POST {FRAME_ROUTE}",
        context=caller,
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": "POST", "http.route": FRAME_ROUTE, "alpr.camera": camera.camera_id},
    ):
        return await _accept(request, camera, rt)


async def _accept(request: Request, camera: Camera, rt: GatewayState) -> FrameAccepted:
    body = await _body(request)
    now = datetime.now(UTC)
    post = parse_frame_post(
        body,
        request.headers.get("content-type", ""),
        received_at=now,
        active_retention_days=rt.settings.active_retention_days,
        clock_skew_s=rt.settings.clock_skew_s,
    )
    frame = frame_in(
        post,
        agency=camera.agency,
        camera_id=camera.camera_id,
        received_at=now,
        camera_position=(camera.latitude, camera.longitude),
    )
    await publish_frame(rt.bus, frame)
    await record_frame(rt.uow, frame)
    rt.camera_seen[camera.camera_id] = now
    return FrameAccepted(frame_id=frame.frame_id, status_url=f"{FRAME_ROUTE}/{frame.frame_id}")


async def _body(request: Request) -> bytes:
    """The body, read with a running bound: a chunked post declares no length and is refused before held whole."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > FRAME_BODY_MAX:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > FRAME_BODY_MAX:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(f"the post exceeds {FRAME_BODY_MAX} bytes", code="image_too_large", limit=FRAME_BODY_MAX)
