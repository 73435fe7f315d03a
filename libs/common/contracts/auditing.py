"""Gateway ↔ audit for the audit unit: records, proofs, verification, samples, findings, completeness.

Endpoints (request/reply) are declared at the end: the audit service answers those in queue group `audit`,
the gateway answers `TALLY` (its own count of accesses, for A5) in queue group `gateway`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from libs.common.contracts.audit import RecordedRequest
from libs.common.endpoint import Endpoint
from libs.common.validation import Instant, Line, Note

Verdict = Literal["compliant", "violation", "needs_follow_up"]


class RecordFilters(BaseModel):
    """What an auditor may filter the log by (the gateway's query parameters, as they travel)."""

    actor_sub: Line | None = Field(default=None, max_length=200)
    plate: Line | None = Field(default=None, max_length=15)
    case_number: Line | None = Field(default=None, max_length=64)
    event_type: Line | None = Field(default=None, max_length=64)
    since: Instant | None = None
    until: Instant | None = None


class RecordsQuery(RecordFilters):
    """An auditor's filters; pages by sequence number so an export can stream the whole log."""

    after_seq: int = Field(default=0, ge=0)
    limit: int = Field(default=500, ge=1, le=5000)


class StoredRecord(BaseModel):
    """One access record as stored, with the text its hash was taken over."""

    seq: int
    event_id: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime | None = None
    actor: dict[str, Any]
    payload: dict[str, Any]
    actor_json: str
    payload_json: str
    prev_hash: str
    hash: str


class RecordsPage(BaseModel):
    records: list[StoredRecord]
    next_after_seq: int | None = None


class CheckpointOut(BaseModel):
    tree_size: int
    root_hash: str
    signed_at: datetime
    key_id: str
    signature: str


class CheckpointsQuery(BaseModel):
    limit: int = Field(default=100, ge=1, le=10_000)


class CheckpointsReply(BaseModel):
    checkpoints: list[CheckpointOut]
    public_keys: list[str] = Field(default_factory=list, description="Ed25519 keys, raw, base64")


class InclusionQuery(BaseModel):
    event_id: str
    tree_size: int | None = Field(default=None, description="A checkpoint's size; the latest covering one if unset")


class InclusionProof(BaseModel):
    """RFC 9162 inclusion of record `seq` (leaf index seq-1, leaf = the record hash) in a signed tree."""

    record: StoredRecord
    leaf_index: int
    tree_size: int
    proof: list[str]
    checkpoint: CheckpointOut


class ConsistencyQuery(BaseModel):
    old_size: int = Field(ge=1)
    new_size: int = Field(ge=1)


class ConsistencyProof(BaseModel):
    old: CheckpointOut
    new: CheckpointOut
    proof: list[str]


class VerifyQuery(BaseModel):
    pass


class VerifyOutcome(BaseModel):
    ok: bool
    records_checked: int
    checkpoints_checked: int
    first_failure: dict[str, Any] | None = None
    # events the writer acknowledged on the AUDIT stream, each found in the log (None: not checked)
    stream_events_checked: int | None = None
    stream_error: str | None = None  # why the stream check could not run; ok then covers the chain only


class SampleRequest(RecordedRequest):
    period_start: datetime
    period_end: datetime
    size: int = Field(default=20, ge=0, le=1000)
    stratum_size: int | None = Field(default=None, ge=0, le=1000)
    seed: int | None = Field(default=None, ge=0, lt=2**63, description="Recorded with the sample; random if unset")
    drawn_by: str = ""


class SampleItem(BaseModel):
    event_id: str
    stratum: str
    actor_sub: str
    occurred_at: datetime
    plate_query: str


class SampleOut(BaseModel):
    sample_id: str
    seed: int
    period_start: datetime
    period_end: datetime
    size: int
    stratum_size: int
    population: int
    drawn_by: str
    drawn_at: datetime
    items: list[SampleItem]
    reproduced: bool | None = Field(default=None, description="On a redraw: the seed gave the same searches")


class SampleLookup(BaseModel):
    sample_id: str
    redraw: bool = False


class FindingFields(BaseModel):
    sample_id: Line  # from the path: any length there is a lookup that finds nothing, not a 500
    event_id: Line = Field(max_length=64)
    verdict: Verdict
    notes: Note = Field(default="", max_length=4000)
    auditor_sub: Line = Field(default="", max_length=200)


class FindingIn(FindingFields, RecordedRequest):
    """A finding to record, with the auditor's access record it commits with."""


class FindingOut(FindingFields):
    finding_id: str
    recorded_at: datetime


class ReportQuery(BaseModel):
    sample_id: str


class SampleReport(BaseModel):
    """A sample's findings: the latest finding per search counts; earlier ones stay on record."""

    sample: SampleOut
    findings: list[FindingOut]
    totals: dict[str, int]
    reviewed: int
    unreviewed: list[str]


class AnomaliesQuery(BaseModel):
    since: Instant
    until: Instant


class AnomalyOut(BaseModel):
    kind: str
    actor_sub: str
    count: int
    event_ids: list[str]
    detail: str
    plate: str | None = None
    day: date | None = None


class AnomaliesReply(BaseModel):
    flags: list[AnomalyOut]


class TallyQuery(BaseModel):
    day: date


class TallyReply(BaseModel):
    """The gateway's own count of data accesses of one day, by event type."""

    day: date
    counts: dict[str, int]
    counted_types: list[str]


class CompletenessQuery(BaseModel):
    day: date


class CompletenessReport(BaseModel):
    """A5: the gateway's count of data accesses against the access records written, for one day."""

    day: date
    ok: bool
    gateway: dict[str, int]
    audit_log: dict[str, int]
    differences: dict[str, int] = Field(description="audit log minus gateway, per event type, non-zero only")


RECORDS = Endpoint("alpr.audit.records", RecordsQuery, RecordsPage, queue="audit")
CHECKPOINTS = Endpoint("alpr.audit.checkpoints", CheckpointsQuery, CheckpointsReply, queue="audit")
INCLUSION = Endpoint("alpr.audit.proof.inclusion", InclusionQuery, InclusionProof, queue="audit")
CONSISTENCY = Endpoint("alpr.audit.proof.consistency", ConsistencyQuery, ConsistencyProof, queue="audit")
VERIFY = Endpoint("alpr.audit.verify", VerifyQuery, VerifyOutcome, queue="audit")
SAMPLE_DRAW = Endpoint("alpr.audit.samples.draw", SampleRequest, SampleOut, queue="audit")
SAMPLE_GET = Endpoint("alpr.audit.samples.get", SampleLookup, SampleOut, queue="audit")
FINDING_RECORD = Endpoint("alpr.audit.findings.record", FindingIn, FindingOut, queue="audit")
REPORT = Endpoint("alpr.audit.report", ReportQuery, SampleReport, queue="audit")
ANOMALIES = Endpoint("alpr.audit.anomalies", AnomaliesQuery, AnomaliesReply, queue="audit")
COMPLETENESS = Endpoint("alpr.audit.completeness", CompletenessQuery, CompletenessReport, queue="audit")
TALLY = Endpoint("alpr.gateway.tally", TallyQuery, TallyReply, queue="gateway")
