"""Gateway routes for the audit unit's reviews: random samples, findings, reports, flags, completeness."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts import auditing as c
from libs.common.validation import Line, Note
from services.gateway.api.audit.access import PROOF_TIMEOUT_S, access_record, record_access
from services.gateway.api.deps import AuditDep, Auditor, StateDep

router = APIRouter(prefix="/v1/audit", tags=["audit"])


class SampleBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period_start": "2026-10-01T00:00:00-07:00",
                    "period_end": "2026-11-01T00:00:00-07:00",
                    "size": 25,
                    "stratum_size": 10,
                    "seed": 1798905210,
                }
            ]
        }
    )

    period_start: datetime
    period_end: datetime
    size: int = Field(default=20, ge=0, le=1000)
    stratum_size: int | None = Field(default=None, ge=0, le=1000)
    seed: int | None = Field(default=None, ge=0, lt=2**63)


class FindingBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "5f0c1f9e-3f0b-4d1e-9d8e-2b7d2f0c6a11",
                    "verdict": "needs_follow_up",
                    "notes": "Case SJ-2026-004211 not found in RMS; asked the unit for the report",
                }
            ]
        }
    )

    event_id: Line = Field(max_length=64)
    verdict: c.Verdict
    notes: Note = Field(default="", max_length=4000)


@router.post("/samples", response_model=c.SampleOut, status_code=201)
async def draw_sample(body: SampleBody, principal: Auditor, request: Request, rt: StateDep) -> c.SampleOut:
    """F1: a random sample of the period's searches plus high-risk strata, recorded with its seed.

    The audit service commits the sample only once this access record is persisted.
    """
    record = access_record(principal, request, "audit_sample_draw", body.model_dump(mode="json"))
    asked = c.SampleRequest(**body.model_dump(), drawn_by=principal.person.sub, audit=record)
    sample = await rt.bus.call(c.SAMPLE_DRAW, asked, timeout=PROOF_TIMEOUT_S)
    await rt.tally.count_relayed(record)
    return sample


@router.get("/samples/{sample_id}", response_model=c.SampleOut)
async def get_sample(
    sample_id: str, principal: Auditor, request: Request, rt: StateDep, audit: AuditDep, redraw: bool = False
) -> c.SampleOut:
    """A recorded sample; `redraw=true` draws it again from the recorded seed and says whether it matches."""
    sample = await rt.bus.call(
        c.SAMPLE_GET,
        c.SampleLookup(sample_id=sample_id, redraw=redraw),
        timeout=PROOF_TIMEOUT_S,
    )
    await record_access(
        rt,
        principal,
        request,
        "audit_sample_read",
        {"sample_id": sample_id, "redraw": redraw},
        [i.event_id for i in sample.items],
    )
    return sample


@router.post("/samples/{sample_id}/findings", response_model=c.FindingOut, status_code=201)
async def record_finding(
    sample_id: str, body: FindingBody, principal: Auditor, request: Request, rt: StateDep
) -> c.FindingOut:
    """A finding on one sampled search: compliant, violation or needs follow-up, with notes.

    The audit service commits the finding only once this access record is persisted.
    """
    query = {"sample_id": sample_id, "event_id": body.event_id, "verdict": body.verdict}
    record = access_record(principal, request, "audit_finding", query)
    finding = c.FindingIn(sample_id=sample_id, auditor_sub=principal.person.sub, audit=record, **body.model_dump())
    recorded = await rt.bus.call(c.FINDING_RECORD, finding, timeout=CHANGE_TIMEOUT_S)
    await rt.tally.count_relayed(record)
    return recorded


@router.get("/samples/{sample_id}/report", response_model=c.SampleReport)
async def report(sample_id: str, principal: Auditor, request: Request, rt: StateDep, audit: AuditDep) -> c.SampleReport:
    """The sample, every finding, totals of the standing verdicts and what is still unreviewed."""
    out = await rt.bus.call(c.REPORT, c.ReportQuery(sample_id=sample_id), timeout=PROOF_TIMEOUT_S)
    await record_access(
        rt, principal, request, "audit_report", {"sample_id": sample_id}, [i.event_id for i in out.sample.items]
    )
    return out


@router.get("/anomalies", response_model=c.AnomaliesReply)
async def anomalies(
    since: datetime, until: datetime, principal: Auditor, request: Request, rt: StateDep, audit: AuditDep
) -> c.AnomaliesReply:
    """F2: repeated plates by one person, volume spikes and off-hours use in a period."""
    reply = await rt.bus.call(c.ANOMALIES, c.AnomaliesQuery(since=since, until=until), timeout=PROOF_TIMEOUT_S)
    await record_access(
        rt, principal, request, "audit_anomalies", {"since": since.isoformat(), "until": until.isoformat()}
    )
    return reply


@router.get("/completeness/{day}", response_model=c.CompletenessReport)
async def completeness(
    day: date, principal: Auditor, request: Request, rt: StateDep, audit: AuditDep
) -> c.CompletenessReport:
    """A5: the gateway's count of a day's data accesses against the records written, by type."""
    report = await rt.bus.call(c.COMPLETENESS, c.CompletenessQuery(day=day), timeout=PROOF_TIMEOUT_S)
    await record_access(rt, principal, request, "audit_completeness", {"day": day.isoformat()})
    return report
