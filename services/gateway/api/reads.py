"""Reads: cameras post them (native or vendor formats); people view one, tied to a search or a purpose."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response

from libs.common import metrics
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.contracts.search import (
    READ_DETAIL,
    READ_IMAGE,
    SEARCH,
    ReadDetail,
    ReadLookup,
    ReadSummary,
    SearchQuery,
    SearchRequest,
)
from libs.common.errors import Forbidden, InvalidInput
from services.gateway.api.deps import StateDep, Viewer
from services.gateway.api.image_response import IMAGE_RESPONSES, IMAGE_VIEW_HEADER, image_response
from services.gateway.api.own_records import own_record_naming
from services.gateway.service import Principal, actor_of, check_purpose, lookback_start
from services.gateway.state import GatewayState

router = APIRouter(tags=["reads"])


async def _purpose_for(
    rt: GatewayState, principal: Principal, read_id: str, search_id: str | None, purpose: Purpose | None
) -> tuple[Purpose, str | None]:
    """A view names the search it follows from (which must be this person's and include the read)."""
    if search_id:
        event = await own_record_naming(rt, principal, search_id, read_id, EventType.SEARCH)
        if event is None:
            raise Forbidden("that search did not return this read to you", code="search_mismatch")
        assert event.purpose is not None
        return event.purpose, search_id
    if purpose is None:
        raise InvalidInput("name the search this view follows from, or give a purpose", code="purpose_required")
    try:
        check_purpose(purpose, rt.settings)
    except Forbidden as err:  # A3: a prohibited purpose is flagged to admins and auditors, as on search
        await rt.audit.record_quietly(
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


async def _check_lookback(
    rt: GatewayState, principal: Principal, purpose: Purpose, read: ReadSummary, route: str
) -> None:
    """A read viewed by id under a stated purpose reaches no further back than a search by its viewer may.

    B2: past the look-back only a read a hold of the purpose's case keeps is shown, as a search finds only those.
    """
    captured_at = read.captured_at
    if captured_at.tzinfo is None:  # records stores UTC; a bare time is read as such, not compared naively
        captured_at = captured_at.replace(tzinfo=UTC)
    lookback_from = lookback_start(principal.user_class, datetime.now(UTC))
    if captured_at >= lookback_from:
        return
    try:
        if not await _held_for_case(rt, read.read_id, read.camera_id, captured_at, purpose.case_number, lookback_from):
            raise Forbidden("the read is older than your class may look back", code="lookback_exceeded")
    except Forbidden as err:  # recorded like a search's refusal
        metrics.DENIED.labels(err.code).inc()
        await rt.audit.record_quietly(
            AuditEvent(
                event_type=EventType.ACCESS_DENIED,
                actor=actor_of(principal),
                purpose=purpose,
                query={"read_id": read.read_id},
                outcome="denied",
                details={"refusal": err.code, "flag_admins_and_auditors": False, "route": route},
            )
        )
        raise


async def _held_for_case(
    rt: GatewayState, read_id: str, camera_id: str, captured_at: datetime, case_number: str, lookback_from: datetime
) -> bool:
    """Whether a hold of the case keeps the read, by records' own rule: a search of the read's instant and camera.

    Records refuses (lookback_exceeded) when the case has no active hold, and before the look-back finds only
    what the case's holds keep; not found (or not on the page) is no hold, fail closed.
    """
    moment = SearchQuery(
        cameras=[camera_id], since=captured_at, until=captured_at + timedelta(milliseconds=1), limit=1000
    )
    asked = SearchRequest(
        search_id=str(uuid.uuid4()), query=moment, case_number=case_number, lookback_from=lookback_from
    )
    found = await rt.bus.call(SEARCH, asked)
    return any(r.read_id == read_id for r in found.reads)


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
    rt: StateDep,
    search_id: str | None = None,
) -> ReadDetail:
    """One read in full; audited as a read view."""
    purpose, search = await _purpose_for(rt, principal, read_id, search_id, _purpose_from_params(request))
    # B2: a held copy past retention answers only its hold's case; to any other it is no such read (404)
    lookup = ReadLookup(read_id=read_id, case_number=purpose.case_number)
    detail = await rt.bus.call(READ_DETAIL, lookup)
    if search is None:  # a search already bounded its reads by the look-back; a purpose alone does not
        await _check_lookback(rt, principal, purpose, detail, "read_view")
    await rt.tally.record_and_count(
        rt.audit,
        AuditEvent(
            event_id=str(uuid.uuid4()),
            event_type=EventType.READ_VIEW,
            actor=actor_of(principal),
            purpose=purpose,
            client_address=request.client.host if request.client else None,
            query={"read_id": read_id, "search_id": search},
            result_count=1,
            result_ids=[read_id],
        ),
    )
    return detail


@router.get("/v1/reads/{read_id}/image", response_class=Response, responses=IMAGE_RESPONSES)
async def read_image(
    read_id: str,
    request: Request,
    principal: Viewer,
    rt: StateDep,
    search_id: str | None = None,
) -> Response:
    """The image of a read, for the visual check POLICY.md asks for; audited as an image view."""
    if not principal.user_class.allow_images:
        raise Forbidden("your class may not view images", code="images_not_allowed")
    purpose, search = await _purpose_for(rt, principal, read_id, search_id, _purpose_from_params(request))
    lookup = ReadLookup(read_id=read_id, case_number=purpose.case_number)
    # asked first, so a missing image (or a held copy of another case) is answered as before: image_not_found
    image = await rt.bus.call(READ_IMAGE, lookup)
    if search is None:  # the image carries no capture time: the read's own says how far back it lies
        read = await rt.bus.call(READ_DETAIL, lookup)
        await _check_lookback(rt, principal, purpose, read, "image_view")
    viewed = AuditEvent(
        event_type=EventType.IMAGE_VIEW,
        actor=actor_of(principal),
        purpose=purpose,
        client_address=request.client.host if request.client else None,
        query={"read_id": read_id, "search_id": search, "kind": image.kind},
        result_count=1,
        result_ids=[read_id],
    )
    await rt.tally.record_and_count(rt.audit, viewed)
    response = image_response(image)
    # the look's access record, which a correction of this read names: only someone who saw the image corrects it
    response.headers[IMAGE_VIEW_HEADER] = viewed.event_id
    return response
