"""A4: broad searches run under a supervisor's approval, requested and decided here, named by the search.

An approval covers one exact query (cursor and page size aside) under the purpose it was asked for (use,
case number and reason) for its requester until it expires, so
the requester may page through the results; it is not consumed by the first page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common import metrics
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.purpose import Purpose
from libs.common.contracts.search import SearchQuery
from libs.common.errors import AlprError, Conflict, Forbidden, InvalidInput, NotFound
from services.gateway import repository
from services.gateway.api.decisions import GrantOrDecision, decision_body
from services.gateway.api.deps import AuditDep, ChangesDep, PrincipalDep, SessionDep, StateDep, Supervisor, require
from services.gateway.api.searches import EXAMPLE, actor_of
from services.gateway.models import Approval
from services.gateway.service import Principal, broad_reasons, check_class_limits, check_purpose

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
Requester = require("approvals:request")

BROAD_EXAMPLE: dict[str, Any] = {
    "query": {**EXAMPLE["query"], "plate": "8AB*", "match": "partial"},
    "purpose": EXAMPLE["purpose"],
    "justification": "Witness recalled only the first three characters of the getaway car's plate",
}


class ApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [BROAD_EXAMPLE]})

    query: SearchQuery
    purpose: Purpose
    justification: str = Field(min_length=20, max_length=2000)


class ApprovalView(BaseModel):
    approval_id: str
    requester_sub: str
    query: dict[str, Any]
    purpose: dict[str, Any]
    justification: str
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None = None
    expires_at: datetime
    created_at: datetime | None


def view(approval: Approval) -> ApprovalView:
    return ApprovalView(**{**approval.model_dump(), "approval_id": str(approval.approval_id)})


@router.post("", status_code=201, response_model=ApprovalView, dependencies=[Requester])
async def request_approval(
    body: ApprovalRequest, principal: PrincipalDep, request: Request, rt: StateDep, audit: AuditDep
) -> ApprovalView:
    """Ask a supervisor to approve one broad search, with its purpose and why it must be broad."""
    now = datetime.now(UTC)
    try:
        check_class_limits(body.query, principal.user_class, now)
        check_purpose(body.purpose, rt.settings, also=(body.justification,))
        reasons = broad_reasons(body.query, rt.settings)
        if not reasons:
            raise InvalidInput("this search is not broad and needs no approval", code="approval_not_needed")
    except AlprError as err:
        metrics.DENIED.labels(err.code).inc()
        await audit.record_quietly(_denied(principal, body, request, err.code))
        raise
    approval = Approval(
        approval_id=uuid.uuid4(),
        requester_sub=principal.person.sub,
        query=body.query.model_dump(mode="json", exclude={"cursor", "limit"}),
        purpose=body.purpose.model_dump(mode="json"),
        justification=body.justification,
        status="requested",
        expires_at=now + timedelta(hours=rt.settings.approval_valid_hours),
        created_at=now,
    )
    async with rt.changes() as change:
        await repository.save(change.session, approval)
        change.record(_change(principal, approval, "approval_requested", body.purpose, broad=reasons))
    return view(approval)


@router.get("", response_model=list[ApprovalView])
async def list_approvals(principal: PrincipalDep, session: SessionDep, status: str | None = None) -> list[ApprovalView]:
    """Supervisors see everyone's requests; a requester sees their own."""
    mine = _may_see_all(principal)
    requester = None if mine else principal.person.sub
    found = await repository.list_approvals(session, status=status, requester_sub=requester)
    return [view(a) for a in found]


@router.get("/{approval_id}", response_model=ApprovalView)
async def get_approval(approval_id: str, principal: PrincipalDep, session: SessionDep) -> ApprovalView:
    see_all = _may_see_all(principal)
    approval = await repository.get_approval(session, approval_id=approval_id)
    # someone else's approval is answered exactly like a missing one (C6)
    if approval is None or not (see_all or approval.requester_sub == principal.person.sub):
        raise NotFound("no such approval", code="approval_not_found")
    return view(approval)


@router.post("/{approval_id}/decision", response_model=ApprovalView, openapi_extra=decision_body())
async def decide(
    approval_id: str, principal: Supervisor, decision: GrantOrDecision, rt: StateDep, changes: ChangesDep
) -> ApprovalView:
    """A supervisor other than the requester approves or denies, saying why; an approval runs for the configured
    hours. The old `{"decision": "grant" | "refuse"}` is answered with a Deprecation header."""
    now = datetime.now(UTC)
    async with changes() as change:
        session = change.session
        approval = await repository.get_approval(session, approval_id=approval_id)
        if approval is None:
            raise NotFound("no such approval", code="approval_not_found")
        if approval.requester_sub == principal.person.sub:
            raise Forbidden("a supervisor cannot approve their own search", code="self_approval")
        if approval.status != "requested" or approval.expires_at <= now:
            raise Conflict(f"the approval is {approval.status}, not awaiting a decision", code="invalid_transition")
        approval.status = "granted" if decision.approve else "refused"
        approval.decided_by, approval.decided_at = principal.person.sub, now
        approval.decision_reason = decision.reason
        if approval.status == "granted":
            approval.expires_at = now + timedelta(hours=rt.settings.approval_valid_hours)
        await repository.save(session, approval)
        purpose = Purpose.model_validate(approval.purpose)
        change.record(_change(principal, approval, f"approval_{approval.status}", purpose, **decision.record()))
        return view(approval)


def _may_see_all(principal: Principal) -> bool:
    if "supervisor" in principal.roles:
        return True
    if not principal.roles & {"officer", "analyst"}:
        raise Forbidden("not permitted for this role", code="forbidden")
    return False


def _change(principal: Principal, approval: Approval, change: str, purpose: Purpose, **details: Any) -> AuditEvent:
    return AuditEvent(
        event_type=EventType.ADMIN_CHANGE,
        actor=actor_of(principal),
        purpose=purpose,
        query=approval.query,
        details={
            "change": change,
            "approval_id": str(approval.approval_id),
            "requester_sub": approval.requester_sub,
            "status": approval.status,
            **details,
        },
    )


def _denied(principal: Principal, body: ApprovalRequest, request: Request, code: str) -> AuditEvent:
    return AuditEvent(
        event_type=EventType.ACCESS_DENIED,
        actor=actor_of(principal),
        purpose=body.purpose,
        client_address=request.client.host if request.client else None,
        query=body.query.model_dump(mode="json", exclude_none=True),
        outcome="denied",
        details={
            "refusal": code,
            "flag_admins_and_auditors": code == "prohibited_purpose",
            "route": "approval_request",
        },
    )
