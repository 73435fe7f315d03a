"""Alerts: live hits over server-sent events, detail, image, verification, reopening and disposition; all audited.

Each view is an access under the purpose of each hotlist entry that listed the plate (its use, its case or
NCIC number, its reason), recorded with what the officer did and counted for the daily check (A5). A look at
the image is told to records once recorded: a verification needs one (E2) and names it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ConfigDict, Field

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts.alerts import (
    ALERT_DISPOSE,
    ALERT_FIGURES,
    ALERT_GET,
    ALERT_IMAGE_VIEWED,
    ALERT_LIST,
    ALERT_REOPEN,
    ALERT_VERIFY,
    Alert,
    AlertFigures,
    AlertImageViewed,
    AlertLookup,
    AlertMessage,
    AlertPage,
    AlertQuery,
    AlertStatus,
    DispositionCode,
    DispositionIn,
    FiguresQuery,
    HotlistEntrySnapshot,
    ReopeningIn,
    VerificationIn,
)
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.search import READ_IMAGE, ReadLookup
from libs.common.errors import AlprError, InvalidInput
from libs.common.streams import AGENCY_ALERTS
from libs.common.validation import Line, Note
from services.gateway import repository
from services.gateway.api.deps import AuditDep, StateDep, bearer, require
from services.gateway.api.image_response import IMAGE_RESPONSES, IMAGE_VIEW_HEADER, image_response
from services.gateway.policy.vagueness import is_empty_talk
from services.gateway.service import Principal, actor_of, check_may_act, check_permission
from services.gateway.settings import GatewaySettings

router = APIRouter(tags=["alerts"])

AlertViewer = Annotated[Principal, require("alerts:view")]
AlertVerifier = Annotated[Principal, require("alerts:verify")]
AlertReopener = Annotated[Principal, require("alerts:reopen")]

KEEPALIVE_S = 15.0


class VerificationBody(BaseModel):
    """E2: the plate as read off the image, the issuing state seen, whether the vehicle fits the entry."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"plate_seen": "7ABC123", "state_seen": "CA", "vehicle_matches": True, "other_source_checked": True}
            ]
        },
    )

    plate_seen: Line = Field(min_length=1, max_length=15, examples=["7ABC123"])
    state_seen: Line | None = Field(default=None, max_length=3, examples=["CA"])
    vehicle_matches: bool
    other_source_checked: bool = Field(default=False, description="Checked with another law enforcement source")
    notes: str | None = Field(default=None, max_length=2000)


class DispositionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "confirmed", "notes": "Driver detained"}]}
    )

    code: DispositionCode
    notes: str | None = Field(default=None, max_length=2000)


class ReopeningBody(BaseModel):
    """Why a supervisor sends an investigate-only alert back for a fresh verification."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Officer compared the wrong image; new image check requested"}]},
    )

    reason: Note = Field(min_length=1, max_length=2000)


@router.get("/v1/alerts/stream", response_class=StreamingResponse)
async def stream_alerts(
    principal: AlertViewer,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**63 - 1)] = None,  # a stream sequence is a uint64
    max_events: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    max_seconds: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> StreamingResponse:
    """Live alerts as server-sent events (`id` is the stream sequence, for `Last-Event-ID` on reconnect)."""
    config = (
        ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last_event_id + 1)
        if last_event_id is not None
        else ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
    )
    verifier = rt.verifier
    token_left = float((await verifier.verify(bearer(request)))["exp"]) - time.time()
    sub = await rt.bus.js.subscribe(AGENCY_ALERTS.pattern, ordered_consumer=True, config=config)
    client = request.client.host if request.client else None

    async def events() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        # the stream lasts no longer than the token that opened it
        deadline = loop.time() + min(max_seconds or token_left, token_left)
        sent = 0
        try:
            yield ": alerts\n\n"
            while loop.time() < deadline:
                if await request.is_disconnected():
                    return
                wait = min(KEEPALIVE_S, max(deadline - loop.time(), 0.01))
                try:
                    msg = await rt.drain.unless_draining(sub.next_msg(timeout=wait))
                except (NatsTimeout, TimeoutError):
                    yield ": keepalive\n\n"
                    continue
                if msg is None:  # this server is draining: the client resumes elsewhere with Last-Event-ID
                    yield "event: closing\ndata: draining\nretry: 1000\n\n"
                    return
                if not await _may_still_view(rt, principal.person.sub):
                    yield "event: error\ndata: forbidden\n\n"
                    return
                seq = msg.metadata.sequence.stream
                try:
                    alert = AlertMessage.model_validate_json(msg.data)
                except ValueError:
                    # a message that is no alert is skipped: ending the stream would end it again on every resume
                    logging.getLogger(__name__).error("ALERTS message %d is not an alert: skipped", seq)
                    continue
                try:
                    views = _views(principal, client, [alert], "stream", stream_seq=seq)
                    await rt.tally.record_and_count(audit, *views)
                except AlprError as err:
                    # no record, no data: the stream ends rather than send an unaudited alert
                    yield f"event: error\ndata: {err.code}\n\n"
                    return
                yield f"id: {seq}\nevent: alert\ndata: {alert.model_dump_json()}\n\n"
                sent += 1
                if max_events is not None and sent >= max_events:
                    return
        finally:
            await sub.unsubscribe()

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/v1/alerts/figures", response_model=AlertFigures)
async def alert_figures(principal: AlertViewer, rt: StateDep, since: datetime | None = None) -> AlertFigures:
    """Counts by match type and disposition, misreads among them (no personal data)."""
    return await rt.bus.call(ALERT_FIGURES, FiguresQuery(since=since))


@router.get("/v1/alerts", response_model=AlertPage)
async def list_alerts(
    principal: AlertViewer,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    status: AlertStatus | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    page = await rt.bus.call(ALERT_LIST, AlertQuery(status=status, since=since, limit=limit))
    client = request.client.host if request.client else None
    await rt.tally.record_and_count(audit, *_views(principal, client, page.alerts, "list"))
    return page


@router.get("/v1/alerts/{alert_id}", response_model=Alert)
async def get_alert(alert_id: str, principal: AlertViewer, request: Request, rt: StateDep, audit: AuditDep) -> Alert:
    alert = await rt.bus.call(ALERT_GET, AlertLookup(alert_id=alert_id))
    client = request.client.host if request.client else None
    await rt.tally.record_and_count(audit, *_views(principal, client, [alert], "detail"))
    return alert


@router.get("/v1/alerts/{alert_id}/image", response_class=Response, responses=IMAGE_RESPONSES)
async def alert_image(
    alert_id: str, principal: AlertViewer, request: Request, rt: StateDep, audit: AuditDep
) -> Response:
    """The image of the read that raised the alert, for the officer's visual check (E2).

    Once the view is recorded, records keeps it for the verification to name (`X-Image-View-Id`); if records
    cannot, the image is not served, since a look it does not know of could not be relied on. A correction
    of the alert's read may name the same id.
    """
    alert = await rt.bus.call(ALERT_GET, AlertLookup(alert_id=alert_id))
    image = await rt.bus.call(READ_IMAGE, ReadLookup(read_id=alert.read_id))
    client = request.client.host if request.client else None
    views = _views(principal, client, [alert], "image", event_type=EventType.IMAGE_VIEW)
    for view in views:
        view.query.update(read_id=alert.read_id, kind=image.kind)
        view.result_ids.append(alert.read_id)  # the read's image was shown too: a correction of it may name this
    await rt.tally.record_and_count(audit, *views)
    seen = AlertImageViewed(
        alert_id=alert.alert_id,
        officer_sub=principal.person.sub,
        event_ids=[view.event_id for view in views],
        image_kind=image.kind,
    )
    stored = await rt.bus.call(ALERT_IMAGE_VIEWED, seen)
    response = image_response(image)
    # records keeps the view under its first access record's id: the verification and a correction name it
    response.headers[IMAGE_VIEW_HEADER] = stored.view_id
    return response


@router.post("/v1/alerts/{alert_id}/verification", response_model=Alert)
async def verify_alert(
    alert_id: str, body: VerificationBody, principal: AlertVerifier, request: Request, rt: StateDep
) -> Alert:
    """E2: confirmed only after the officer opened the image and the characters, state and vehicle all agree.

    Refused with 409 `image_not_viewed` until the officer has opened `GET /v1/alerts/{id}/image`; a read with
    no image, a look-alike match or a stale list is investigate_only, and so is every later check of an alert
    once investigate_only, until a supervisor reopens it.
    """
    record = _action_record(principal, request, "verification")
    command = VerificationIn(alert_id=alert_id, officer_sub=principal.person.sub, audit=record, **body.model_dump())
    # records commits the verification only once its record (with the entry's purpose) is persisted
    checked = await rt.bus.call(ALERT_VERIFY, command, timeout=CHANGE_TIMEOUT_S)
    await rt.tally.count_relayed(record)
    return checked


@router.post("/v1/alerts/{alert_id}/reopen", response_model=Alert)
async def reopen_alert(
    alert_id: str, body: ReopeningBody, principal: AlertReopener, request: Request, rt: StateDep
) -> Alert:
    """A supervisor sends an investigate-only alert back to pending, with a reason, recorded."""
    _check_reopening_reason(body.reason, rt.settings)
    record = _action_record(principal, request, "reopen", reason=body.reason)
    command = ReopeningIn(alert_id=alert_id, supervisor_sub=principal.person.sub, reason=body.reason, audit=record)
    reopened = await rt.bus.call(ALERT_REOPEN, command, timeout=CHANGE_TIMEOUT_S)
    await rt.tally.count_relayed(record)
    return reopened


@router.post("/v1/alerts/{alert_id}/disposition", response_model=Alert)
async def dispose_alert(
    alert_id: str, body: DispositionBody, principal: AlertVerifier, request: Request, rt: StateDep
) -> Alert:
    """E3: every alert ends with a disposition code, set by a person (E5)."""
    record = _action_record(principal, request, "disposition", code=body.code, notes=body.notes)
    command = DispositionIn(
        alert_id=alert_id, officer_sub=principal.person.sub, code=body.code, notes=body.notes, audit=record
    )
    disposed = await rt.bus.call(ALERT_DISPOSE, command, timeout=CHANGE_TIMEOUT_S)
    await rt.tally.count_relayed(record)
    return disposed


async def _may_still_view(rt: StateDep, sub: str) -> bool:
    """D3 on an open stream: a person deactivated, locked or stripped of the right gets nothing more."""
    async with rt.uow() as session:
        person = await repository.get_person(session, sub=sub)
    if person is None:
        return False
    try:
        check_may_act(person, datetime.now(UTC), rt.settings)
        check_permission(frozenset(person.roles), "alerts:view")
    except AlprError:
        return False
    return True


def _views(
    principal: Principal,
    client: str | None,
    alerts: Sequence[AlertMessage],
    route: str,
    *,
    event_type: EventType = EventType.ALERT_VIEW,
    **details: Any,
) -> list[AuditEvent]:
    """One record per hotlist entry among the alerts shown (every entry an alert lists), each under its purpose."""
    by_entry: dict[tuple[str, int], tuple[HotlistEntrySnapshot, list[AlertMessage]]] = {}
    for alert in alerts:
        for entry in alert.entries:
            by_entry.setdefault((entry.hotlist_id, entry.entry_id), (entry, []))[1].append(alert)
    shown = [
        AuditEvent(
            event_type=event_type,
            actor=actor_of(principal),
            purpose=entry.purpose,
            client_address=client,
            query={"plate": entry.plate},
            result_count=len(group),
            result_ids=[a.alert_id for a in group],
            details={"route": route, "action": "view", "hotlist_id": hotlist_id, "entry_id": entry_id, **details},
        )
        for (hotlist_id, entry_id), (entry, group) in by_entry.items()
    ]
    # a list that showed nothing is still an access, with no entry's purpose to carry
    empty = AuditEvent(
        event_type=event_type,
        actor=actor_of(principal),
        client_address=client,
        details={"route": route, "action": "view", **details},
    )
    return shown or [empty]


def _action_record(principal: Principal, request: Request, action: str, **details: Any) -> AuditEvent:
    """ALERT_VERIFICATION as the gateway knows it; records adds the alert, its read and its new status."""
    return AuditEvent(
        event_type=EventType.ALERT_VERIFICATION,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        details={"action": action, **details},
    )


def _check_reopening_reason(reason: str, settings: GatewaySettings) -> None:
    """A reopening undoes a safeguard: its reason must say something, like a purpose's."""
    if len(reason.strip()) < settings.min_reason_length:
        raise InvalidInput(
            f"the reason must be at least {settings.min_reason_length} characters",
            code="reason_too_short",
            field="reason",
        )
    if is_empty_talk(reason, settings.vague_reason_list):
        raise InvalidInput("the reason is too vague to reopen an alert", code="reason_vague", field="reason")
