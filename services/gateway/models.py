"""Gateway tables as SQLModel classes; constraints live in migrations/."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TEXT
from sqlmodel import Field, SQLModel


class UserClass(SQLModel, table=True):
    """The data limits admins set for a class of users."""

    __tablename__ = "user_classes"

    name: str = Field(primary_key=True)
    max_lookback_days: int
    allow_partial: bool = False
    allow_area: bool = False
    allow_images: bool = False


class Person(SQLModel, table=True):
    """A member of the department who may (or may no longer) use the system."""

    __tablename__ = "persons"

    sub: str = Field(primary_key=True)
    name: str
    badge: str
    agency: str
    unit: str = ""
    roles: list[str] = Field(sa_column=Column(ARRAY(TEXT), nullable=False))
    user_class: str | None = None
    status: str = "pending"
    status_reason: str | None = None
    training_expires_at: datetime | None = None  # every training topic current until then (D2)
    last_active_at: datetime | None = None
    approved_by: str | None = None
    created_at: datetime | None = None
    failures_cleared_at: datetime | None = None


class TrainingRecord(SQLModel, table=True):
    """A course a person completed, valid until it expires (D2)."""

    __tablename__ = "training_records"

    id: int | None = Field(default=None, primary_key=True)
    sub: str
    course: str
    topics: list[str] = Field(sa_column=Column(ARRAY(TEXT), nullable=False))  # TrainingTopic values
    completed_at: datetime
    expires_at: datetime
    recorded_by: str
    recorded_at: datetime | None = None


class Camera(SQLModel, table=True):
    """A registered camera and its hashed credential."""

    __tablename__ = "cameras"

    camera_id: str = Field(primary_key=True)
    agency: str
    vendor: str
    name: str = ""
    model: str = ""
    latitude: float | None = None
    longitude: float | None = None
    heading: float | None = None
    enabled: bool = True
    credential_id: str | None = None
    credential_hash: str | None = None
    last_seen_at: datetime | None = None
    refused_count: int = 0
    created_at: datetime | None = None


class Approval(SQLModel, table=True):
    """A supervisor's approval of one broad search, requested by someone else."""

    __tablename__ = "approvals"

    approval_id: uuid.UUID = Field(primary_key=True)
    requester_sub: str
    query: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    purpose: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    justification: str
    status: str = "requested"
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None  # the supervisor's why, for a grant or a refusal
    expires_at: datetime
    created_at: datetime | None = None
