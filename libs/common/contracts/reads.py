"""A plate read as every service sees it, whatever vendor format it arrived in."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

PLATE_MAX_LEN = 15
_PLATE_STRIP = re.compile(r"[\s\-\.·•_]+")
_PLATE_OK = re.compile(r"^[A-Z0-9]+$")

ImageKind = Literal["plate", "vehicle", "overview"]


def normalize_plate(raw: str) -> str:
    """Upper-case and drop spaces, dashes and separators (FORMATS.md §14); the raw text is kept apart."""
    return _PLATE_STRIP.sub("", raw.upper())


def plate_is_acceptable(plate: str) -> bool:
    """A stored plate is 1–15 characters of A–Z and 0–9."""
    return 0 < len(plate) <= PLATE_MAX_LEN and bool(_PLATE_OK.match(plate))


class Point(BaseModel):
    x: float
    y: float


class Box(BaseModel):
    """Axis-aligned box in image pixels: top-left corner and size."""

    x: float
    y: float
    width: float
    height: float


class Candidate(BaseModel):
    plate: str
    confidence: float = Field(ge=0.0, le=1.0)


class ReadImage(BaseModel):
    """An image that came with a read; bytes travel base64 in JSON."""

    kind: ImageKind
    content_type: str = "image/jpeg"
    data_b64: str


class ReadIn(BaseModel):
    """One normalized read, as the gateway publishes it on READS."""

    read_id: str
    agency: str
    camera_id: str
    captured_at: datetime
    plate: str | None = None  # normalized vendor text; None for a vehicle seen without a plate
    plate_raw: str | None = None
    state: str | None = None  # two-letter US state or region code, upper-case
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    confidence_raw: str | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    heading: float | None = None
    plate_box: Box | None = None
    plate_polygon: list[Point] | None = None  # TL, TR, BR, BL as OpenALPR sends
    vehicle: dict[str, str] = Field(default_factory=dict)  # make, model, colour, type as the vendor named them
    images: list[ReadImage] = Field(default_factory=list)
    vendor: str = "native"
    vendor_format: str = "native"
    raw_body: str | None = None  # the vendor's body, unchanged (base64 when binary)
    flags: list[str] = Field(default_factory=list)
    replaces: list[str] = Field(default_factory=list)  # preview reads this final read supersedes

    @field_validator("captured_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("captured_at must carry a time zone")
        return value


def stable_read_id(*parts: object) -> str:
    """A read id derived from what identifies a read at its source, so any resend maps to the same id."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


# A READS message holds one read, or, with this header naming how many, a bundle {"reads": [...]} of a
# batch post's reads from one camera: a message per read cost the bus and records more than the read.
BUNDLE_HEADER = "Alpr-Reads"


class ReadBundle(BaseModel):
    reads: list[ReadIn]
