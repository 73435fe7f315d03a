"""Predicate-based search: class limits, purpose, approvals, then records, then the audit record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.purpose import Purpose
from libs.common.contracts.search import SEARCH, ReadSummary, SearchQuery, SearchRequest
from libs.common.errors import Forbidden, InvalidInput
from libs.common.validation import Line
from services.gateway import repository
from services.gateway.api.deps import AuditDep, BusDep, Searcher, SessionDep, SettingsDep, TallyDep
from services.gateway.service import (
    Principal,
    actor_of,
    broad_reasons,
    check_class_limits,
    check_purpose,
    lookback_start,
)

router = APIRouter(tags=["searches"])

EXAMPLE: dict[str, Any] = {
    "query": {
        "plate": "8ABC123",
        "match": "exact",
        "since": "2026-11-01T00:00:00Z",
        "until": "2026-11-28T00:00:00Z",
    },
    "purpose": {
        "use": "stolen_or_wanted_vehicle",
        "case_number": "SJ-2026-004211",
        "reason": "Vehicle reported stolen at knifepoint on 11/27 near Story Rd",
    },
}


class SearchBody(BaseModel):
    # an unknown field is a 422 naming it, never silently ignored
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    query: SearchQuery
    purpose: Purpose
    approval_id: Line | None = Field(default=None, max_length=64, description="A supervisor's approval (broad search)")


class SearchResponse(BaseModel):
    search_id: str
    reads: list[ReadSummary]
    next_cursor: str | None = None
    truncated: bool = False


@router.post("/v1/searches", response_model=SearchResponse)
async def search(
    body: SearchBody,
    principal: Searcher,
    request: Request,
    settings: SettingsDep,
    bus: BusDep,
    audit: AuditDep,
    tally: TallyDep,
    session: SessionDep,
) -> SearchResponse:
    """Search reads for a stated lawful purpose; the access record is persisted before data is returned."""
    now = datetime.now(UTC)
    client = request.client.host if request.client else None
    search_id = str(uuid.uuid4())
    query_fields = body.query.model_dump(mode="json", exclude_none=True)
    try:
        reasons = broad_reasons(body.query, settings)
        # B2: a narrow search may reach past the class look-back, where records finds only the case's held reads;
        # a broad one may not (no approval is granted past the look-back), so it is told so before asking for one
        check_class_limits(body.query, principal.user_class, now, held_reach=not reasons)
        check_purpose(body.purpose, settings)
        if reasons:
            await _check_approval(session, principal, body, reasons, now)
        lookback_from = lookback_start(principal.user_class, now)
        asked = SearchRequest(
            search_id=search_id, query=body.query, case_number=body.purpose.case_number, lookback_from=lookback_from
        )
        # records refuses (lookback_exceeded) a reach past the look-back that no active hold of the case covers
        result = await bus.call(SEARCH, asked)
    except (InvalidInput, Forbidden) as err:  # refusals of this person, recorded; an outage is none
        metrics.DENIED.labels(err.code).inc()
        flagged = err.code == "prohibited_purpose"
        await audit.record_quietly(
            AuditEvent(
                event_type=EventType.ACCESS_DENIED,
                actor=actor_of(principal),
                purpose=body.purpose,
                client_address=client,
                query=query_fields,
                outcome="denied",
                details={"refusal": err.code, "flag_admins_and_auditors": flagged, "route": "search"},
            )
        )
        raise
    details: dict[str, Any] = {"approval_id": body.approval_id} if body.approval_id else {}
    if body.query.since < lookback_from:
        details["held_reach_before"] = lookback_from.isoformat()  # found there: only the case's held reads
    event = AuditEvent(
        event_id=search_id,
        event_type=EventType.SEARCH,
        actor=actor_of(principal),
        purpose=body.purpose,
        client_address=client,
        query=query_fields,
        result_count=len(result.reads),
        result_ids=[r.read_id for r in result.reads],
        details=details,
    )
    # counted while the record is confirmed; nothing is returned unless the record is persisted
    await tally.record_and_count(audit, event)
    return SearchResponse(
        search_id=search_id, reads=result.reads, next_cursor=result.next_cursor, truncated=result.truncated
    )


async def _check_approval(
    session: AsyncSession, principal: Principal, body: SearchBody, reasons: list[str], now: datetime
) -> None:
    """A4: a broad search runs only under a granted approval, for this requester, this query and this purpose."""
    if not body.approval_id:
        raise Forbidden("a broad search needs a supervisor's approval", code="approval_required", broad=reasons)
    approval = await repository.get_approval(session, approval_id=body.approval_id)
    if (
        approval is None
        or approval.requester_sub != principal.person.sub
        or approval.status != "granted"
        or approval.expires_at <= now
    ):
        raise Forbidden("the approval is not valid for this search", code="approval_invalid")
    try:
        approved: SearchQuery | None = SearchQuery.model_validate(approval.query)
    except ValueError:  # stored before a rule it breaks (a plate of dashes): it approves nothing (fail closed)
        approved = None
    if approved is None or approved.model_dump(exclude={"cursor", "limit"}) != body.query.model_dump(
        exclude={"cursor", "limit"}
    ):
        raise Forbidden("the approval was granted for another query", code="approval_mismatch")
    # the supervisor weighed this case, use and reason: the grant does not carry over to another purpose
    try:
        granted_for: Purpose | None = Purpose.model_validate(approval.purpose)
    except ValueError:  # a stored purpose that no longer validates matches nothing (fail closed)
        granted_for = None
    if granted_for != body.purpose:
        raise Forbidden("the approval was granted for another purpose", code="approval_mismatch")
