"""Legal holds (B2): an officer or analyst requests, a different supervisor approves; every step audited.

Each change carries its access record to records, which commits the change only once the record is persisted.
Looking at holds is an access with a purpose of its own (hold_views.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.holds import (
    HOLD_CREATE,
    HOLD_DECIDE,
    HOLD_END,
    HOLD_GET,
    HoldCreate,
    HoldDecision,
    HoldEnd,
    HoldLookup,
    HoldSelection,
    HoldView,
)
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.errors import Forbidden
from libs.common.validation import Instant, Line, Note
from services.gateway.api import corrections, hold_views
from services.gateway.api.decisions import FlagOrDecision, decision_body
from services.gateway.api.deps import PrincipalDep, StateDep, require
from services.gateway.service import PERMISSIONS, Principal, actor_of, check_purpose

router = APIRouter(tags=["holds"])
router.include_router(corrections.router)
router.include_router(hold_views.router)

HoldRequester = Annotated[Principal, require("holds:request")]
HoldApprover = Annotated[Principal, require("holds:approve")]


def _hold_party(principal: PrincipalDep) -> Principal:
    """Those who request or approve holds may see them."""
    if not principal.roles & (PERMISSIONS["holds:request"] | PERMISSIONS["holds:approve"]):
        raise Forbidden("not permitted for this role", code="forbidden")
    return principal


HoldParty = Annotated[Principal, Depends(_hold_party)]


class HoldBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "use": "wanted_suspect",
                    "case_number": "SJ-2026-004211",
                    "justification": "Vehicle seen leaving two armed robberies on 11/20 and 11/24; warrant pending",
                    "review_date": "2027-02-28",
                    "plate": "8ABC123",
                    "since": "2026-11-01T00:00:00Z",
                    "until": "2026-11-28T00:00:00Z",
                }
            ]
        },
    )

    use: AuthorizedUse
    case_number: Line = Field(min_length=1, max_length=64, examples=["SJ-2026-004211"])
    # at most 2000: it travels as the hold's purpose reason, which allows no more
    justification: Note = Field(
        min_length=1, max_length=2000, description="The reasonable suspicion tying the vehicle to a crime"
    )
    review_date: date
    read_ids: list[Annotated[Line, Field(max_length=64)]] = Field(default_factory=list, max_length=10_000)
    plate: Line | None = Field(default=None, max_length=15)
    since: Instant | None = None
    until: Instant | None = None


class ReleaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=10, max_length=2000, examples=["Case closed: suspect convicted on 2027-01-15"])


def _record(request: Request, principal: Principal, action: str, **details: object) -> AuditEvent:
    """The change's record as the gateway knows it; records adds the hold, its reads and its status."""
    return AuditEvent(
        event_type=EventType.HOLD_CHANGE,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        details={"action": action, **details},
    )


@router.post("/v1/holds", status_code=201, response_model=HoldView)
async def request_hold(body: HoldBody, principal: HoldRequester, request: Request, rt: StateDep) -> HoldView:
    """Request a hold; it keeps nothing until a different supervisor approves it."""
    check_purpose(Purpose(use=body.use, case_number=body.case_number, reason=body.justification), rt.settings)
    create = HoldCreate(
        case_number=body.case_number.strip(),
        justification=body.justification.strip(),
        review_date=body.review_date,
        selection=HoldSelection(read_ids=body.read_ids, plate=body.plate, since=body.since, until=body.until),
        requester_sub=principal.person.sub,
        requester_name=principal.person.name,
        audit=_record(request, principal, "requested", use=body.use.value, justification=body.justification.strip()),
    )
    return await rt.bus.call(HOLD_CREATE, create, timeout=CHANGE_TIMEOUT_S)


@router.post("/v1/holds/{hold_id}/decision", response_model=HoldView, openapi_extra=decision_body())
async def decide_hold(
    hold_id: str, principal: HoldApprover, decision: FlagOrDecision, request: Request, rt: StateDep
) -> HoldView:
    """A supervisor other than the requester approves or denies a pending hold, saying why.

    The old `{"approve": true | false}` is answered with a Deprecation header.
    """
    asked = HoldDecision(
        hold_id=hold_id,
        approve=decision.approve,
        reason=decision.reason,
        approver_sub=principal.person.sub,
        approver_name=principal.person.name,
        audit=_record(request, principal, "approved" if decision.approve else "rejected", **decision.record()),
    )
    return await rt.bus.call(HOLD_DECIDE, asked, timeout=CHANGE_TIMEOUT_S)


@router.post("/v1/holds/{hold_id}/release", response_model=HoldView)
async def release_hold(
    hold_id: str, body: ReleaseBody, principal: HoldParty, request: Request, rt: StateDep
) -> HoldView:
    """End a hold (its requester or a supervisor); its reads go back to the ordinary retention."""
    current = await rt.bus.call(HOLD_GET, HoldLookup(hold_id=hold_id))
    if current.requester_sub != principal.person.sub and not principal.roles & PERMISSIONS["holds:approve"]:
        raise Forbidden("only the requester or a supervisor may end this hold", code="hold_not_yours")
    end = HoldEnd(
        hold_id=hold_id,
        ended_by=principal.person.sub,
        reason=body.reason,
        audit=_record(request, principal, "released", reason=body.reason),
    )
    return await rt.bus.call(HOLD_END, end, timeout=CHANGE_TIMEOUT_S)
