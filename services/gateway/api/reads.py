"""Reads: cameras post them (native or vendor formats); people view one, tied to a search or a purpose."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from opentelemetry import propagate, trace
from pydantic import BaseModel

from libs.common import metrics
from libs.common.contracts.audit import AuditEvent, EventLookup, EventSummary, EventType
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.contracts.search import ReadDetail, ReadImageReply, ReadLookup
from libs.common.errors import Forbidden, InvalidInput, PayloadTooLarge
from services.gateway import repository
from services.gateway.api.deps import AuditDep, CameraDep, RuntimeDep, Viewer
from services.gateway.api.searches import actor_of
from services.gateway.handlers import publish_reads
from services.gateway.ingest import parse_payload
from services.gateway.service import Principal, check_purpose

router = APIRouter(tags=["reads"])
tracer = trace.get_tracer("alpr.gateway.ingest")
# camera posts: traced by the lean span in _ingest, not the generic ASGI one (see setup_tracing)
INGEST_PATHS = (r"/v1/reads$", r"/v1/ingest(/[^/]+)?$", r"/push/$")


class IngestReply(BaseModel):
    format: str
    kind: str
    accepted: int
    duplicates: int
    read_ids: list[str]
    rejected: list[dict[str, Any]] = []


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes", code="payload_too_large")
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes", code="payload_too_large")
    return body


async def _ingest(request: Request, camera: CameraDep, rt: RuntimeDep, fmt: str | None) -> IngestReply:
    route = getattr(request.scope.get("route"), "path", request.url.path)
    with tracer.start_as_current_span(
        f"POST {route}",
        context=propagate.extract(request.headers),  # a camera agent's own traceparent, if it sends one
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": "POST", "http.route": route, "alpr.camera": camera.camera_id},
    ):
        return await _accept(request, camera, rt, fmt)


async def _accept(request: Request, camera: CameraDep, rt: RuntimeDep, fmt: str | None) -> IngestReply:
    body = await _body(request, rt.settings.max_body_bytes)
    now = datetime.now(UTC)
    parsed = parse_payload(
        body,
        request.headers.get("content-type", ""),
        format=fmt,
        agency=camera.agency,
        camera_id=camera.camera_id,
        received_at=now,
    )
    if parsed.replaces_preview:
        # a final group supersedes its preview; records removes the preview once the final is stored
        for read in parsed.reads:
            if "vendor_preview" not in read.flags:
                read.replaces = list(parsed.replaces_preview)
    duplicates = await publish_reads(rt.bus, parsed.reads) if parsed.reads else 0
    metrics.INGESTED.labels(parsed.format).inc(len(parsed.reads) - duplicates)
    rt.extras["camera_seen"][camera.camera_id] = now
    return IngestReply(
        format=parsed.format,
        kind=parsed.kind,
        accepted=len(parsed.reads),
        duplicates=duplicates,
        read_ids=[r.read_id for r in parsed.reads],
        rejected=parsed.rejected,
    )


@router.post("/v1/reads", status_code=202, response_model=IngestReply)
async def post_reads(request: Request, camera: CameraDep, rt: RuntimeDep) -> IngestReply:
    """Native reads: one object or `{"reads": [...]}` of up to 1,000; 202 once JetStream holds them all."""
    return await _ingest(request, camera, rt, "native")


@router.post("/v1/ingest", status_code=202, response_model=IngestReply)
async def post_vendor_detect(request: Request, camera: CameraDep, rt: RuntimeDep) -> IngestReply:
    """A vendor payload whose format is detected from its content."""
    return await _ingest(request, camera, rt, None)


@router.post("/v1/ingest/{fmt}", status_code=202, response_model=IngestReply)
async def post_vendor(fmt: str, request: Request, camera: CameraDep, rt: RuntimeDep) -> IngestReply:
    """A vendor payload, unchanged, in the named format."""
    return await _ingest(request, camera, rt, fmt)


@router.post("/push/", status_code=202, response_model=IngestReply, include_in_schema=False)
async def post_openalpr_agent(request: Request, camera: CameraDep, rt: RuntimeDep) -> IngestReply:
    """Where OpenALPR agents post by default."""
    return await _ingest(request, camera, rt, "openalpr")


async def _purpose_for(
    rt: RuntimeDep, principal: Principal, read_id: str, search_id: str | None, purpose: Purpose | None
) -> tuple[Purpose, str | None]:
    """A view names the search it follows from (which must be this person's and include the read)."""
    if search_id:
        event = await rt.bus.request("alpr.audit.event", EventLookup(event_id=search_id), EventSummary)
        if event.event_type != "search" or event.actor_sub != principal.person.sub or read_id not in event.result_ids:
            raise Forbidden("that search did not return this read to you", code="search_mismatch")
        assert event.purpose is not None
        return event.purpose, search_id
    if purpose is None:
        raise InvalidInput("name the search this view follows from, or give a purpose", code="purpose_required")
    try:
        check_purpose(purpose, rt.settings)
    except Forbidden as err:  # A3: a prohibited purpose is flagged to admins and auditors, as on search
        await rt.extras["audit"].record_quietly(
            AuditEvent(
                event_type=EventType.ACCESS_DENIED,
                actor=actor_of(principal),
                purpose=purpose,
                query={"read_id": read_id},
                outcome="denied",
                details={"refusal": err.code, "flag_admins_and_auditors": True, "route": "read_view"},
            )
        )
        raise
    return purpose, None


def _purpose_from_params(request: Request) -> Purpose | None:
    q = request.query_params
    if not q.get("use"):
        return None
    try:
        return Purpose(use=AuthorizedUse(q["use"]), case_number=q.get("case_number", ""), reason=q.get("reason", ""))
    except ValueError as exc:
        raise InvalidInput("the purpose fields are not valid", code="invalid_purpose") from exc


@router.get("/v1/reads/{read_id}", response_model=ReadDetail)
async def read_detail(
    read_id: str,
    request: Request,
    principal: Viewer,
    rt: RuntimeDep,
    audit: AuditDep,
    search_id: str | None = None,
) -> ReadDetail:
    """One read in full; audited as a read view."""
    purpose, search = await _purpose_for(rt, principal, read_id, search_id, _purpose_from_params(request))
    detail = await rt.bus.request("alpr.records.read", ReadLookup(read_id=read_id), ReadDetail)
    await audit.record(
        AuditEvent(
            event_id=str(uuid.uuid4()),
            event_type=EventType.READ_VIEW,
            actor=actor_of(principal),
            purpose=purpose,
            client_address=request.client.host if request.client else None,
            query={"read_id": read_id, "search_id": search},
            result_count=1,
            result_ids=[read_id],
        )
    )
    assert rt.uow is not None
    async with rt.uow() as session:
        await repository.tally_access(session, day=datetime.now(UTC).date(), event_type=EventType.READ_VIEW.value)
    return detail


@router.get("/v1/reads/{read_id}/image", responses={200: {"content": {"image/jpeg": {}}}})
async def read_image(
    read_id: str,
    request: Request,
    principal: Viewer,
    rt: RuntimeDep,
    audit: AuditDep,
    search_id: str | None = None,
) -> Response:
    """The image of a read, for the visual check POLICY.md asks for; audited as an image view."""
    if not principal.user_class.allow_images:
        raise Forbidden("your class may not view images", code="images_not_allowed")
    purpose, search = await _purpose_for(rt, principal, read_id, search_id, _purpose_from_params(request))
    image = await rt.bus.request("alpr.records.image", ReadLookup(read_id=read_id), ReadImageReply)
    await audit.record(
        AuditEvent(
            event_type=EventType.IMAGE_VIEW,
            actor=actor_of(principal),
            purpose=purpose,
            client_address=request.client.host if request.client else None,
            query={"read_id": read_id, "search_id": search, "kind": image.kind},
            result_count=1,
            result_ids=[read_id],
        )
    )
    return Response(base64.b64decode(image.data_b64), media_type=image.content_type)
