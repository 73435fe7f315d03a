"""A purge on the custodian's order (B1, B3): recorded with who, badge and reason before anything goes.

One purge runs at a time across every records replica (the purge's PostgreSQL advisory lock): an order
that finds one running is refused with 409 `purge_running`, and the refusal is recorded too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.retention import PURGE_ORDER, PurgeOrder, PurgeOrderReply
from libs.common.errors import AlprError
from libs.common.validation import Note
from services.gateway.api.deps import AuditDep, StateDep, require
from services.gateway.service import Principal, actor_of, check_review_reason

router = APIRouter(prefix="/v1/admin", tags=["custodian"])

Custodian = Annotated[Principal, require("retention:purge")]
# a purge drops whole days of partitions; the caller waits for it and its certificate, as `alpr purge` does
PURGE_TIMEOUT_S = 300.0


class PurgeBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Monthly retention check after the backup window changed"}]},
    )

    reason: Note = Field(min_length=20, max_length=2000, description="Why the purge is run now")


@router.post("/purges", status_code=201, response_model=PurgeOrderReply)
async def order_purge(
    body: PurgeBody, principal: Custodian, request: Request, rt: StateDep, audit: AuditDep
) -> PurgeOrderReply:
    """Run the retention purge now and answer with its deletion certificate."""
    reason = body.reason.strip()
    record = AuditEvent(
        event_type=EventType.ADMIN_CHANGE,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        details={"action": "purge_ordered", "route": "purge_order", "reason": reason},
    )
    try:
        check_review_reason(reason, rt.settings)
        return await rt.bus.call(PURGE_ORDER, PurgeOrder(reason=reason, audit=record), timeout=PURGE_TIMEOUT_S)
    except AlprError as err:
        if err.status < 500:  # a refusal; a failed purge is followed up by records under the order's own record
            await audit.record_quietly(
                AuditEvent(
                    event_type=EventType.ACCESS_DENIED,
                    actor=record.actor,
                    client_address=record.client_address,
                    outcome="denied",
                    details={**record.details, "refusal": err.code},
                )
            )
        raise
