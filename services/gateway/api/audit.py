"""Gateway routes for the audit unit: every one is itself recorded as an audit access before it answers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from libs.common.bus import Bus
from libs.common.contracts import auditing as c
from libs.common.contracts.audit import AuditEvent, EventType
from services.gateway.api.deps import AuditDep, Auditor, RuntimeDep
from services.gateway.api.searches import actor_of
from services.gateway.service import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"])

_PROOF_TIMEOUT_S = 60.0
_VERIFY_TIMEOUT_S = 600.0
_EXPORT_COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "occurred_at",
    "recorded_at",
    "actor_json",
    "payload_json",
    "prev_hash",
    "hash",
)


class RecordFilters(BaseModel):
    actor_sub: str | None = None
    plate: str | None = None
    case_number: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


FiltersDep = Annotated[RecordFilters, Depends()]


class SampleBody(BaseModel):
    period_start: datetime
    period_end: datetime
    size: int = Field(default=20, ge=0, le=1000)
    stratum_size: int | None = Field(default=None, ge=0, le=1000)
    seed: int | None = Field(default=None, ge=0, lt=2**63)


class FindingBody(BaseModel):
    event_id: str
    verdict: c.Verdict
    notes: str = Field(default="", max_length=4000)


async def _record_access(
    audit: AuditDep,
    principal: Principal,
    request: Request,
    route: str,
    query: dict[str, Any],
    result_ids: list[str] | None = None,
) -> None:
    """Who looked at the log, at what, and what they got; no record, no answer."""
    ids = result_ids or []
    await audit.record(
        AuditEvent(
            event_type=EventType.AUDIT_ACCESS,
            actor=actor_of(principal),
            client_address=request.client.host if request.client else None,
            query={k: v for k, v in query.items() if v is not None},
            result_count=len(ids),
            result_ids=ids,
            details={"route": route},
        )
    )


def _filters(filters: RecordFilters) -> dict[str, Any]:
    return filters.model_dump(mode="json")


@router.get("/records", response_model=c.RecordsPage)
async def records(
    filters: FiltersDep,
    principal: Auditor,
    request: Request,
    rt: RuntimeDep,
    audit: AuditDep,
    after_seq: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> c.RecordsPage:
    """Access records by person, plate, case number, type and time; page on with `after_seq`."""
    page = await rt.bus.request(
        "alpr.audit.records", c.RecordsQuery(**filters.model_dump(), after_seq=after_seq, limit=limit), c.RecordsPage
    )
    await _record_access(
        audit, principal, request, "audit_records", _filters(filters), [r.event_id for r in page.records]
    )
    return page


@router.get("/export", responses={200: {"content": {"text/csv": {}, "application/json": {}}}})
async def export(
    filters: FiltersDep,
    principal: Auditor,
    request: Request,
    rt: RuntimeDep,
    audit: AuditDep,
    format: Literal["csv", "json"] = "csv",
) -> StreamingResponse:
    """The matching records streamed as CSV or a JSON array, with the stored text each hash covers."""
    await _record_access(audit, principal, request, "audit_export", {**_filters(filters), "format": format})
    media = "text/csv" if format == "csv" else "application/json"
    body = _csv(rt.bus, filters) if format == "csv" else _json(rt.bus, filters)
    filename = f"audit-export.{format}"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def _pages(bus: Bus, filters: RecordFilters) -> AsyncIterator[list[c.StoredRecord]]:
    after: int | None = 0
    while after is not None:
        page = await bus.request(
            "alpr.audit.records", c.RecordsQuery(**filters.model_dump(), after_seq=after, limit=2000), c.RecordsPage
        )
        yield page.records
        after = page.next_after_seq


async def _csv(bus: Bus, filters: RecordFilters) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_EXPORT_COLUMNS)
    async for page in _pages(bus, filters):
        for record in page:
            row = record.model_dump(mode="json")
            writer.writerow([row[column] for column in _EXPORT_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


async def _json(bus: Bus, filters: RecordFilters) -> AsyncIterator[str]:
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
    rt: RuntimeDep,
    audit: AuditDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> c.CheckpointsReply:
    """The latest signed checkpoints and the keys that verify them."""
    reply = await rt.bus.request("alpr.audit.checkpoints", c.CheckpointsQuery(limit=limit), c.CheckpointsReply)
    await _record_access(audit, principal, request, "audit_checkpoints", {"limit": limit})
    return reply


@router.get("/proofs/inclusion/{event_id}", response_model=c.InclusionProof)
async def inclusion(
    event_id: str,
    principal: Auditor,
    request: Request,
    rt: RuntimeDep,
    audit: AuditDep,
    tree_size: int | None = None,
) -> c.InclusionProof:
    """RFC 9162 proof that a record is in a signed tree (the latest covering it unless a size is given)."""
    proof = await rt.bus.request(
        "alpr.audit.proof.inclusion",
        c.InclusionQuery(event_id=event_id, tree_size=tree_size),
        c.InclusionProof,
        timeout=_PROOF_TIMEOUT_S,
    )
    await _record_access(
        audit, principal, request, "audit_inclusion_proof", {"event_id": event_id, "tree_size": tree_size}, [event_id]
    )
    return proof


@router.get("/proofs/consistency", response_model=c.ConsistencyProof)
async def consistency(
    old_size: int, new_size: int, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep
) -> c.ConsistencyProof:
    """RFC 9162 proof that an older signed tree is a prefix of a newer one."""
    proof = await rt.bus.request(
        "alpr.audit.proof.consistency",
        c.ConsistencyQuery(old_size=old_size, new_size=new_size),
        c.ConsistencyProof,
        timeout=_PROOF_TIMEOUT_S,
    )
    await _record_access(
        audit, principal, request, "audit_consistency_proof", {"old_size": old_size, "new_size": new_size}
    )
    return proof


@router.post("/verify", response_model=c.VerifyOutcome)
async def verify(principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep) -> c.VerifyOutcome:
    """Check the whole chain and every checkpoint; names the first record that fails."""
    await _record_access(audit, principal, request, "audit_verify", {})
    return await rt.bus.request("alpr.audit.verify", c.VerifyQuery(), c.VerifyOutcome, timeout=_VERIFY_TIMEOUT_S)


@router.post("/samples", response_model=c.SampleOut, status_code=201)
async def draw_sample(
    body: SampleBody, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep
) -> c.SampleOut:
    """F1: a random sample of the period's searches plus high-risk strata, recorded with its seed."""
    asked = c.SampleRequest(**body.model_dump(), drawn_by=principal.person.sub)
    sample = await rt.bus.request("alpr.audit.samples.draw", asked, c.SampleOut, timeout=_PROOF_TIMEOUT_S)
    await _record_access(
        audit,
        principal,
        request,
        "audit_sample_draw",
        {**body.model_dump(mode="json"), "seed": sample.seed, "sample_id": sample.sample_id},
        [i.event_id for i in sample.items],
    )
    return sample


@router.get("/samples/{sample_id}", response_model=c.SampleOut)
async def get_sample(
    sample_id: str, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep, redraw: bool = False
) -> c.SampleOut:
    """A recorded sample; `redraw=true` draws it again from the recorded seed and says whether it matches."""
    sample = await rt.bus.request(
        "alpr.audit.samples.get",
        c.SampleLookup(sample_id=sample_id, redraw=redraw),
        c.SampleOut,
        timeout=_PROOF_TIMEOUT_S,
    )
    await _record_access(
        audit,
        principal,
        request,
        "audit_sample_read",
        {"sample_id": sample_id, "redraw": redraw},
        [i.event_id for i in sample.items],
    )
    return sample


@router.post("/samples/{sample_id}/findings", response_model=c.FindingOut, status_code=201)
async def record_finding(
    sample_id: str, body: FindingBody, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep
) -> c.FindingOut:
    """A finding on one sampled search: compliant, violation or needs follow-up, with notes."""
    finding = c.FindingIn(sample_id=sample_id, auditor_sub=principal.person.sub, **body.model_dump())
    out = await rt.bus.request("alpr.audit.findings.record", finding, c.FindingOut)
    await _record_access(
        audit,
        principal,
        request,
        "audit_finding",
        {"sample_id": sample_id, "event_id": body.event_id, "verdict": body.verdict},
    )
    return out


@router.get("/samples/{sample_id}/report", response_model=c.SampleReport)
async def report(
    sample_id: str, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep
) -> c.SampleReport:
    """The sample, every finding, totals of the standing verdicts and what is still unreviewed."""
    out = await rt.bus.request(
        "alpr.audit.report", c.ReportQuery(sample_id=sample_id), c.SampleReport, timeout=_PROOF_TIMEOUT_S
    )
    await _record_access(
        audit, principal, request, "audit_report", {"sample_id": sample_id}, [i.event_id for i in out.sample.items]
    )
    return out


@router.get("/anomalies", response_model=c.AnomaliesReply)
async def anomalies(
    since: datetime, until: datetime, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep
) -> c.AnomaliesReply:
    """F2: repeated plates by one person, volume spikes and off-hours use in a period."""
    reply = await rt.bus.request(
        "alpr.audit.anomalies", c.AnomaliesQuery(since=since, until=until), c.AnomaliesReply, timeout=_PROOF_TIMEOUT_S
    )
    await _record_access(
        audit, principal, request, "audit_anomalies", {"since": since.isoformat(), "until": until.isoformat()}
    )
    return reply


@router.get("/completeness/{day}", response_model=c.CompletenessReport)
async def completeness(
    day: date, principal: Auditor, request: Request, rt: RuntimeDep, audit: AuditDep
) -> c.CompletenessReport:
    """A5: the gateway's count of a day's data accesses against the records written, by type."""
    report = await rt.bus.request(
        "alpr.audit.completeness", c.CompletenessQuery(day=day), c.CompletenessReport, timeout=_PROOF_TIMEOUT_S
    )
    await _record_access(audit, principal, request, "audit_completeness", {"day": day.isoformat()})
    return report
