"""Records tables as SQLModel classes, the typed rows the repository returns; the DDL lives in migrations/."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TEXT
from sqlmodel import Field, SQLModel


class Read(SQLModel, table=True):
    """One plate read (a version of it: corrections add a row that supersedes the original)."""

    __tablename__ = "reads"

    read_id: uuid.UUID = Field(primary_key=True)
    captured_at: datetime = Field(primary_key=True)
    received_at: datetime
    agency: str
    camera_id: str
    plate: str | None = None
    plate_raw: str | None = None
    lookalike_key: str | None = None
    state: str | None = None
    confidence: float | None = None
    confidence_raw: str | None = None
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB))
    our_plate: str | None = None
    our_confidence: float | None = None
    our_char_confidences: list[float] | None = Field(default=None, sa_column=Column(JSONB))
    our_candidates: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONB))
    our_model: str | None = None
    our_lookalike_key: str | None = None  # our reading's look-alike key, so look-alike search finds it too
    latitude: float | None = None
    longitude: float | None = None
    location_from_camera: bool = False  # the position is the camera's registered one
    heading: float | None = None
    plate_box: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    plate_polygon: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONB))
    vehicle: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB))
    vehicle_attributes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))  # our vocabulary's
    vendor: str
    vendor_format: str
    raw_body: str | None = None
    flags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(TEXT)))
    has_image: bool = False
    hotlist_hit: bool = False
    version: int = 1
    supersedes: uuid.UUID | None = None
    superseded_by: uuid.UUID | None = None  # set when a correction adds the read's next version


class StoredImage(SQLModel, table=True):
    """An image that came with a read, kept in a partition dropped with the read's."""

    __tablename__ = "read_images"

    read_id: uuid.UUID = Field(primary_key=True)
    captured_at: datetime = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    content_type: str
    data: bytes = Field(sa_column=Column(LargeBinary))
