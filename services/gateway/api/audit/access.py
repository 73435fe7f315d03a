"""The auditor's own access, recorded and counted (A5) before any answer: no record, no answer."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from libs.common.contracts.audit import AuditEvent, EventType
from services.gateway.service import Principal, actor_of
from services.gateway.state import GatewayState

PROOF_TIMEOUT_S = 60.0


async def record_access(
    rt: GatewayState,
    principal: Principal,
    request: Request,
    route: str,
    query: dict[str, Any],
    result_ids: list[str] | None = None,
    event_type: EventType = EventType.AUDIT_ACCESS,
) -> None:
    """Who looked at the log, at what, and what they got; no record, no answer."""
    record = access_record(principal, request, route, query, result_ids, event_type)
    await rt.tally.record_and_count(rt.audit, record)


def access_record(
    principal: Principal,
    request: Request,
    route: str,
    query: dict[str, Any],
    result_ids: list[str] | None = None,
    event_type: EventType = EventType.AUDIT_ACCESS,
) -> AuditEvent:
    """The auditor's access record; a change (a sample, a finding) sends it with the request instead."""
    ids = result_ids or []
    return AuditEvent(
        event_type=event_type,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        query={k: v for k, v in query.items() if v is not None},
        result_count=len(ids),
        result_ids=ids,
        details={"route": route},
    )
