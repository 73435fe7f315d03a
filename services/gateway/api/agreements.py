"""Admin routes for partners, agreements and OAuth clients: an admin proposes, the custodian decides."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts import sharing
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.sharing import (
    AGREEMENT_EXAMPLE,
    AgreementHistory,
    AgreementList,
    AgreementLookup,
    AgreementTerms,
    ClientCreate,
    ClientView,
    DecideRequest,
    Empty,
    PartnerCreate,
    PartnerIn,
    PartnerList,
    PartnerView,
    ProposalList,
    ProposalLookup,
    ProposalView,
    ProposeRequest,
    RevokeRequest,
    StaffActor,
    action_of,
)
from libs.common.endpoint import Endpoint
from libs.common.errors import AlprError, Forbidden
from services.gateway.api.decisions import NoBodyOrDecision, decision_body
from services.gateway.api.deps import AuditDep, PrincipalDep, StateDep, require
from services.gateway.service import PERMISSIONS, Principal, actor_of

router = APIRouter(prefix="/v1/admin", tags=["agreements"])
M = TypeVar("M", bound=BaseModel)

Proposer = Annotated[Principal, require("agreements:propose")]
Custodian = Annotated[Principal, require("agreements:approve")]


async def _staff(principal: PrincipalDep) -> Principal:
    """Admins and the custodian both read partners and agreements."""
    if not principal.roles & (PERMISSIONS["agreements:propose"] | PERMISSIONS["agreements:approve"]):
        raise Forbidden("not permitted for this role", code="forbidden")
    return principal


Staff = Annotated[Principal, Depends(_staff)]


class ProposalBody(AgreementTerms):
    """Terms of a new agreement (no id) or a change to one (its id), and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{**AGREEMENT_EXAMPLE, "reason": "Signed by both chiefs on 2026-11-20"}]},
    )

    reason: str = Field(min_length=1, max_length=2000, examples=["Signed by both chiefs on 2026-11-20"])


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, examples=["The partner breached term 3 (audits)"])


class ClientBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"auth_method": "client_secret_basic"}]})

    auth_method: Literal["client_secret_basic", "private_key_jwt"] = "client_secret_basic"
    public_jwk: dict[str, Any] | None = None


def staff_of(principal: Principal) -> StaffActor:
    p = principal.person
    return StaffActor(sub=p.sub, name=p.name, roles=list(p.roles))


async def _changed(
    rt: StateDep,
    audit: AuditDep,
    principal: Principal,
    request: Request,
    *,
    endpoint: Endpoint[Any, M],
    body: BaseModel,
    event_type: EventType,
) -> M:
    """Ask sharing to make a change; it commits only once the change's record is persisted.

    A refusal (or a change whose record could not be confirmed, so was not made) is recorded when possible.
    """
    event = AuditEvent(
        event_type=event_type,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        query={"action": action_of(endpoint), **body.model_dump(mode="json", exclude={"actor", "audit"})},
    )
    try:
        asked = body.model_copy(update={"audit": event})
        return await rt.bus.call(endpoint, asked, timeout=CHANGE_TIMEOUT_S)
    except AlprError as err:
        refused = {"refusal": err.code, "route": action_of(endpoint)}
        denied = event.model_copy(update={"event_id": str(uuid.uuid4()), "outcome": "denied", "details": refused})
        await audit.record_quietly(denied)
        raise


@router.post("/partners", status_code=201, response_model=PartnerView)
async def create_partner(
    body: PartnerIn, principal: Proposer, request: Request, rt: StateDep, audit: AuditDep
) -> PartnerView:
    """Enter a partner agency: California state or local public agencies only (C1, C7)."""
    asked = PartnerCreate(actor=staff_of(principal), partner=body)
    return await _changed(
        rt, audit, principal, request, endpoint=sharing.PARTNER_CREATE, body=asked,
        event_type=EventType.ADMIN_CHANGE,
    )  # fmt: skip


@router.get("/partners", response_model=PartnerList)
async def list_partners(principal: Staff, rt: StateDep) -> PartnerList:
    return await rt.bus.call(sharing.PARTNER_LIST, Empty())


@router.post("/agreements", status_code=202, response_model=ProposalView)
async def propose_agreement(
    body: ProposalBody, principal: Proposer, request: Request, rt: StateDep, audit: AuditDep
) -> ProposalView:
    """Propose a new agreement or a change; nothing takes effect until the custodian approves (C3)."""
    terms = AgreementTerms.model_validate(body.model_dump(exclude={"reason"}))
    asked = ProposeRequest(actor=staff_of(principal), terms=terms, reason=body.reason)
    return await _changed(
        rt, audit, principal, request, endpoint=sharing.AGREEMENT_PROPOSE, body=asked,
        event_type=EventType.AGREEMENT_CHANGE,
    )  # fmt: skip


@router.post("/agreements/{agreement_id}/revocation", status_code=202, response_model=ProposalView)
async def propose_revocation(
    agreement_id: str, body: ReasonBody, principal: Proposer, request: Request, rt: StateDep, audit: AuditDep
) -> ProposalView:
    """Propose ending an agreement; on approval its tokens stop working at once."""
    asked = RevokeRequest(actor=staff_of(principal), agreement_id=agreement_id, reason=body.reason)
    return await _changed(
        rt, audit, principal, request, endpoint=sharing.AGREEMENT_REVOKE, body=asked,
        event_type=EventType.AGREEMENT_CHANGE,
    )  # fmt: skip


@router.post(
    "/agreement-proposals/{proposal_id}/approval",
    response_model=ProposalView,
    openapi_extra=decision_body(required=False),
)
async def approve_proposal(
    proposal_id: str,
    principal: Custodian,
    decision: NoBodyOrDecision,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
) -> ProposalView:
    """The custodian, never the proposer, approves or denies, saying why; the before and after are kept.

    A bodiless post (the old shape: an approval without a reason) is answered with a Deprecation header.
    """
    asked = DecideRequest(
        actor=staff_of(principal), proposal_id=proposal_id, approve=decision.approve, reason=decision.reason
    )
    return await _changed(
        rt, audit, principal, request, endpoint=sharing.PROPOSAL_DECIDE, body=asked,
        event_type=EventType.AGREEMENT_CHANGE,
    )  # fmt: skip


@router.get("/agreement-proposals", response_model=ProposalList)
async def pending_proposals(principal: Staff, rt: StateDep) -> ProposalList:
    """Proposals waiting for the custodian, each with the agency's kind and ORI and the document's digest."""
    return await rt.bus.call(sharing.PROPOSALS_PENDING, Empty())


@router.get("/agreement-proposals/{proposal_id}", response_model=ProposalView)
async def proposal(proposal_id: str, principal: Staff, rt: StateDep) -> ProposalView:
    """What the custodian approves: the terms, the agency (ORI, name, kind) and the signed document's digest."""
    lookup = ProposalLookup(proposal_id=proposal_id)
    return await rt.bus.call(sharing.PROPOSAL_GET, lookup)


@router.get("/agreements", response_model=AgreementList)
async def list_agreements(principal: Staff, rt: StateDep) -> AgreementList:
    return await rt.bus.call(sharing.AGREEMENT_LIST, Empty())


@router.get("/agreements/{agreement_id}", response_model=AgreementHistory)
async def agreement_history(agreement_id: str, principal: Staff, rt: StateDep) -> AgreementHistory:
    """Every version and every proposal, with who proposed and who approved."""
    lookup = AgreementLookup(agreement_id=agreement_id)
    return await rt.bus.call(sharing.AGREEMENT_HISTORY, lookup)


@router.post("/agreements/{agreement_id}/clients", status_code=201, response_model=ClientView)
async def create_client(
    agreement_id: str, body: ClientBody, principal: Proposer, request: Request, rt: StateDep, audit: AuditDep
) -> JSONResponse:
    """Register a partner's OAuth client; a generated secret is shown in this answer only."""
    asked = ClientCreate.model_validate(
        {"actor": staff_of(principal), "agreement_id": agreement_id, **body.model_dump(exclude_none=True)}
    )
    client = await _changed(
        rt, audit, principal, request, endpoint=sharing.CLIENT_CREATE, body=asked,
        event_type=EventType.ADMIN_CHANGE,
    )  # fmt: skip
    return JSONResponse(client.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})
