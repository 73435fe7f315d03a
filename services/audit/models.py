"""Audit tables as SQLModel classes; triggers and grants live in migrations/."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel


class AccessRecord(SQLModel, table=True):
    """One link of the hash chain: an access or change, as canonical JSON, hashed with its predecessor."""

    __tablename__ = "access_records"

    seq: int = Field(primary_key=True)
    event_id: str
    event_type: str
    occurred_at: datetime
    recorded_at: datetime | None = None
    actor: str
    payload: str
    prev_hash: str
    hash: str


class SignedCheckpoint(SQLModel, table=True):
    """A signed Merkle root over the first `tree_size` records."""

    __tablename__ = "checkpoints"

    tree_size: int = Field(primary_key=True)
    root_hash: str
    signed_at: datetime
    key_id: str
    signature: str


class AuditSample(SQLModel, table=True):
    """A random sample of searches (F1), with the seed and parameters that draw it again."""

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


class CompletenessCheck(SQLModel, table=True):
    """A5: one day's gateway tally against the records written, as JSON by event type."""

    __tablename__ = "completeness_checks"

    check_id: int = Field(primary_key=True)
    day: date
    checked_at: datetime
    ok: bool
    gateway: str
    audit_log: str
    differences: str
