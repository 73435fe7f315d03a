"""Audit tables as SQLModel classes; triggers and grants live in migrations/."""

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
