"""Audit's rows as its repositories take and return them; the tables, triggers and grants live in migrations/."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class AccessRecord(SQLModel, table=True):
    """One link of the hash chain: an access or change, as canonical JSON, hashed with its predecessor."""

    __tablename__ = "access_records"

    seq: int = Field(primary_key=True)
    event_id: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime | None = None
    actor: str  # canonical JSON text, hashed as stored
    payload: str  # canonical JSON text, hashed as stored
    prev_hash: str
    hash: str


class AuditSample(SQLModel, table=True):
    """A random sample of searches (F1) as recorded, with the seed and parameters that draw it again."""

    __tablename__ = "audit_samples"

    sample_id: str = Field(primary_key=True)
    seed: int
    period_start: datetime
    period_end: datetime
    size: int
    stratum_size: int
    population: int
    drawn_by: str
    drawn_at: datetime


class AuditSampleItem(SQLModel, table=True):
    """One search of a sample and the stratum it was drawn for."""

    __tablename__ = "audit_sample_items"

    sample_id: str = Field(primary_key=True)
    position: int = Field(primary_key=True)
    event_id: str
    stratum: str


class AuditFinding(SQLModel, table=True):
    """An auditor's finding on a sampled search; a later one on the same search supersedes it."""

    __tablename__ = "audit_findings"

    finding_id: str = Field(primary_key=True)
    sample_id: str
    event_id: str
    verdict: str
    notes: str
    auditor_sub: str
    recorded_at: datetime


class SampledSearchRow(SQLModel):
    """A sample's search joined with its record: who searched for what, and when."""

    event_id: str
    stratum: str
    actor_sub: str
    occurred_at: datetime
    plate_query: str


class SearchRow(SQLModel):
    """A granted search of a period as the sample and the anomaly flags read it."""

    event_id: str
    actor_sub: str | None
    occurred_at: datetime
    plate: str
    match: str
