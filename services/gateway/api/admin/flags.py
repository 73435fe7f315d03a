"""A3: attempts for prohibited purposes, refused and flagged, listed for admins and auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.oversight import FLAGS, FlagsQuery, FlagsReply
from services.gateway.api.deps import AuditDep, Overseer, StateDep
from services.gateway.service import actor_of

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.get("/flags", response_model=FlagsReply)
async def flagged_attempts(
    principal: Overseer,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FlagsReply:
    """Newest first, from the audit log itself; looking at them is recorded too."""
    reply = await rt.bus.call(FLAGS, FlagsQuery(since=since, limit=limit))
    await rt.tally.record_and_count(
        audit,
        AuditEvent(
            event_type=EventType.AUDIT_ACCESS,
            actor=actor_of(principal),
            client_address=request.client.host if request.client else None,
            query={"view": "flags", "since": since.isoformat() if since else None, "limit": limit},
            result_count=len(reply.flags),
            result_ids=[f.event_id for f in reply.flags],
        ),
    )
    return reply
