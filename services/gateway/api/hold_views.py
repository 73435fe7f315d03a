"""Looking at legal holds is an access: a case's holds under a stated purpose, or all of them under review.

A hold names a case and a justification of suspicion against a vehicle, so seeing one is seeing ALPR
data. An officer or analyst sees the holds of the case their purpose names (the search purpose rules); a
supervisor or the custodian may see every hold under `use=hold_review`, with a reason. Each view is
recorded, and counted for the daily check (A5), before it is answered; a refusal is recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.holds import (
    HOLD_GET,
    HOLD_LIST,
    MAX_HOLDS_PAGE,
    HoldList,
    HoldLookup,
    HoldStatus,
    HoldView,
    HoldViews,
)
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.errors import AlprError, Forbidden, InvalidInput, NotFound
from libs.common.validation import Line, Note
from services.gateway.api.deps import AuditDep, PrincipalDep, StateDep
from services.gateway.service import PERMISSIONS, Principal, actor_of, check_purpose, check_review_reason

router = APIRouter(tags=["holds"])

HOLD_REVIEW = "hold_review"
_VIEWERS = PERMISSIONS["holds:request"] | PERMISSIONS["holds:approve"] | PERMISSIONS["holds:review"]


@dataclass(frozen=True)
class HoldAccess:
    """Who looks at holds and why: a case's purpose, or a review's reason."""

    principal: Principal
    client: str | None
    purpose: Purpose | None
    review_reason: str | None
    case_number: str | None

    def record(self, route: str, holds: list[HoldView], **query: object) -> AuditEvent:
        """The access record of this view: its purpose, what was asked and the holds shown."""
        review = {"use": HOLD_REVIEW, "reason": self.review_reason} if self.review_reason else None
        return AuditEvent(
            event_type=EventType.HOLD_VIEW,
            actor=actor_of(self.principal),
            purpose=self.purpose,
            client_address=self.client,
            query={k: v for k, v in {"case_number": self.case_number, **query}.items() if v is not None},
            result_count=len(holds),
            result_ids=[h.hold_id for h in holds],
            details={"route": route, **({"review": review} if review else {})},
        )


async def hold_access(
    principal: PrincipalDep,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    use: Annotated[
        AuthorizedUse | Literal["hold_review"],
        Query(description="An authorized use with the case it concerns, or `hold_review` (supervisors, custodian)"),
    ],
    reason: Annotated[Note, Query(min_length=1, max_length=2000, description="Why these holds are looked at")],
    case_number: Annotated[
        Line | None, Query(max_length=64, description="The case whose holds are shown; required but for a review")
    ] = None,
) -> HoldAccess:
    """Check the purpose of a look at holds; a refused one is recorded (and flagged when prohibited)."""
    if not principal.roles & _VIEWERS:
        raise Forbidden("not permitted for this role", code="forbidden")
    client = request.client.host if request.client else None
    purpose: Purpose | None = None
    try:
        if use == HOLD_REVIEW:
            if not principal.roles & PERMISSIONS["holds:review"]:
                raise Forbidden("only a supervisor or the custodian reviews every hold", code="hold_review_forbidden")
            check_review_reason(reason, rt.settings)
        else:
            case_number = (case_number or "").strip()
            if not case_number:
                raise InvalidInput(
                    "name the case whose holds you look at", code="purpose_required", field="case_number"
                )
            purpose = Purpose(use=AuthorizedUse(use), case_number=case_number, reason=reason)
            check_purpose(purpose, rt.settings)
    except AlprError as err:
        await audit.record_quietly(
            AuditEvent(
                event_type=EventType.ACCESS_DENIED,
                actor=actor_of(principal),
                purpose=purpose,
                client_address=client,
                query={"case_number": case_number} if case_number else {},
                outcome="denied",
                details={
                    "refusal": err.code,
                    "flag_admins_and_auditors": err.code == "prohibited_purpose",
                    "route": "hold_view",
                    **({"review": {"use": HOLD_REVIEW, "reason": reason}} if use == HOLD_REVIEW else {}),
                },
            )
        )
        raise
    review_reason = reason.strip() if use == HOLD_REVIEW else None
    return HoldAccess(principal, client, purpose, review_reason, (case_number or "").strip() or None)


HoldAccessDep = Annotated[HoldAccess, Depends(hold_access)]


@router.get("/v1/holds/{hold_id}", response_model=HoldView)
async def get_hold(hold_id: str, access: HoldAccessDep, rt: StateDep, audit: AuditDep) -> HoldView:
    """One hold: of the case the purpose names, or any under review; recorded before it is answered."""
    hold = await rt.bus.call(HOLD_GET, HoldLookup(hold_id=hold_id))
    if access.review_reason is None and hold.case_number != access.case_number:
        refused = access.record("hold_detail", [], hold_id=hold_id)
        details = {**refused.details, "refusal": "hold_not_in_case"}
        await audit.record_quietly(
            refused.model_copy(update={"event_type": EventType.ACCESS_DENIED, "outcome": "denied", "details": details})
        )
        # answered as if it did not exist: another case's hold is not confirmed to whoever asks
        raise NotFound("no such hold", code="hold_not_found")
    await rt.tally.record_and_count(audit, access.record("hold_detail", [hold], hold_id=hold_id))
    return hold


@router.get("/v1/holds", response_model=HoldViews)
async def list_holds(
    access: HoldAccessDep,
    rt: StateDep,
    audit: AuditDep,
    status: HoldStatus | None = None,
    before: Annotated[str | None, Query(max_length=36, description="`next_before` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_HOLDS_PAGE)] = MAX_HOLDS_PAGE,
) -> HoldViews:
    """Holds of the named case (or all, under review), newest first, a page at a time; supervisors and the
    custodian review them here (only supervisors decide them)."""
    asked = HoldList(status=status, case_number=access.case_number, before=before, limit=limit)
    page = await rt.bus.call(HOLD_LIST, asked)
    await rt.tally.record_and_count(audit, access.record("hold_list", page.holds, status=status, before=before))
    return page
