"""Gateway routes for auditors over the log itself: search, export, checkpoints, proofs, verification."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from libs.common.bus import Bus
from libs.common.contracts import auditing as c
from libs.common.contracts.audit import EventType
from services.gateway.api.audit.access import PROOF_TIMEOUT_S, record_access
from services.gateway.api.audit.export_csv import csv_lines
from services.gateway.api.deps import AuditDep, Auditor, StateDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])

_VERIFY_TIMEOUT_S = 600.0
# the contract's own fields, so a filter it would refuse is a 422 here and never a 500 when it is built
FiltersDep = Annotated[c.RecordFilters, Depends()]


def _filters(filters: c.RecordFilters) -> dict[str, Any]:
    return filters.model_dump(mode="json")


@router.get("/records", response_model=c.RecordsPage)
async def records(
    filters: FiltersDep,
    principal: Auditor,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> c.RecordsPage:
    """Access records by person, plate, case number, type and time; page on with `after_seq`."""
    page = await rt.bus.call(c.RECORDS, c.RecordsQuery(**filters.model_dump(), after_seq=after_seq, limit=limit))
    await record_access(rt, principal, request, "audit_records", _filters(filters), [r.event_id for r in page.records])
    return page


@router.get("/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
async def export(
    filters: FiltersDep,
    principal: Auditor,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    format: Literal["csv", "json"] = "csv",
) -> StreamingResponse:
    """The matching records streamed as CSV (flat columns: who, badge, agency, use, case, reason, plate, result
    count; formula-safe) or as a JSON array with the stored text each hash covers (`actor_json`, `payload_json`)."""
    query = {**_filters(filters), "format": format}
    await record_access(rt, principal, request, "audit_export", query, event_type=EventType.EXPORT)
    media = "text/csv" if format == "csv" else "application/json"
    body = _csv(rt.bus, filters) if format == "csv" else _json(rt.bus, filters)
    filename = f"audit-export.{format}"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def _pages(bus: Bus, filters: c.RecordFilters) -> AsyncIterator[list[c.StoredRecord]]:
    after: int | None = 0
    while after is not None:
        page = await bus.call(c.RECORDS, c.RecordsQuery(**filters.model_dump(), after_seq=after, limit=2000))
        yield page.records
        after = page.next_after_seq


async def _csv(bus: Bus, filters: c.RecordFilters) -> AsyncIterator[str]:
    yield csv_lines([], header=True)
    async for page in _pages(bus, filters):
        yield csv_lines(page)


async def _json(bus: Bus, filters: c.RecordFilters) -> AsyncIterator[str]:
    first = True
    yield "["
    async for page in _pages(bus, filters):
        for record in page:
            yield ("" if first else ",") + json.dumps(record.model_dump(mode="json", exclude={"actor", "payload"}))
            first = False
    yield "]"


@router.get("/checkpoints", response_model=c.CheckpointsReply)
async def checkpoints(
    principal: Auditor,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> c.CheckpointsReply:
    """The latest signed checkpoints and the keys that verify them."""
    reply = await rt.bus.call(c.CHECKPOINTS, c.CheckpointsQuery(limit=limit))
    await record_access(rt, principal, request, "audit_checkpoints", {"limit": limit})
    return reply


# a size the caller names is checked here, as a query parameter: the contract refusing it would be a 500
TreeSize = Annotated[int, Query(ge=1, le=2**63 - 1)]


@router.get("/proofs/inclusion/{event_id}", response_model=c.InclusionProof)
async def inclusion(
    event_id: str,
    principal: Auditor,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    tree_size: TreeSize | None = None,
) -> c.InclusionProof:
    """RFC 9162 proof that a record is in a signed tree (the latest covering it unless a size is given)."""
    proof = await rt.bus.call(
        c.INCLUSION,
        c.InclusionQuery(event_id=event_id, tree_size=tree_size),
        timeout=PROOF_TIMEOUT_S,
    )
    await record_access(
        rt, principal, request, "audit_inclusion_proof", {"event_id": event_id, "tree_size": tree_size}, [event_id]
    )
    return proof


@router.get("/proofs/consistency", response_model=c.ConsistencyProof)
async def consistency(
    old_size: TreeSize, new_size: TreeSize, principal: Auditor, request: Request, rt: StateDep, audit: AuditDep
) -> c.ConsistencyProof:
    """RFC 9162 proof that an older signed tree is a prefix of a newer one."""
    proof = await rt.bus.call(
        c.CONSISTENCY,
        c.ConsistencyQuery(old_size=old_size, new_size=new_size),
        timeout=PROOF_TIMEOUT_S,
    )
    await record_access(rt, principal, request, "audit_consistency_proof", {"old_size": old_size, "new_size": new_size})
    return proof


@router.post("/verify", response_model=c.VerifyOutcome)
async def verify(principal: Auditor, request: Request, rt: StateDep, audit: AuditDep) -> c.VerifyOutcome:
    """Check the whole chain and every checkpoint; names the first record that fails."""
    await record_access(rt, principal, request, "audit_verify", {})
    return await rt.bus.call(c.VERIFY, c.VerifyQuery(), timeout=_VERIFY_TIMEOUT_S)
