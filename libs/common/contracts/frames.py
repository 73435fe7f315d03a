"""Camera frames with no read: a photograph in, the plates found in it out.

A camera posts a photograph (`POST /v1/ingest/image`); the gateway puts a `FrameIn` on the FRAMES stream
and answers 202 with its `frame_id`. Records consumes the stream, asks the recognizer to find and read
every plate (`READ_FRAME`), and stores each plate as a read (vendor `image`) together with the frame's
outcome, in one transaction. `FRAME_STATUS` tells the gateway that outcome for the camera that posted.

Endpoints: `READ_FRAME` (queue group `recognizer`), `FRAME_STATUS` (queue group `records`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from libs.common.contracts.reads import Box, Point, ReadImage
from libs.common.contracts.recognition import Recognition
from libs.common.endpoint import Endpoint

FrameOutcome = Literal["pending", "read", "no_plate", "failed"]


class FrameIn(BaseModel):
    """A posted photograph on the FRAMES stream; `frame_id` is also its JetStream message id."""

    frame_id: str = Field(min_length=1, max_length=64)
    agency: str = Field(min_length=1, max_length=64)
    camera_id: str = Field(min_length=1, max_length=200)
    received_at: datetime
    captured_at: datetime | None = None  # the camera's own time, when it sent one; else received_at
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    image: ReadImage  # kind "overview": the whole photograph, its type sniffed by the gateway


class ReadFrameRequest(BaseModel):
    """Find and read every plate in one photograph (JPEG, PNG or WebP, base64)."""

    image_b64: str = Field(min_length=1)
    state: str | None = None  # a state prior for every plate, as in RecognizeRequest


class PlateInFrame(BaseModel):
    """One plate the detector found: where (in the photograph's pixels), how sure, and what it reads."""

    box: Box
    polygon: list[Point]  # TL, TR, BR, BL: the crop the reading was made on is rectified by it
    detection_score: float = Field(ge=0.0, le=1.0)
    recognition: Recognition


class FrameReading(BaseModel):
    """Every plate found in the photograph, best detection first; an empty list is "no plate found"."""

    plates: list[PlateInFrame]
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    detector_version: str
    elapsed_ms: float = Field(ge=0.0)


class FrameStatusRequest(BaseModel):
    """Ask for a frame's outcome; only the camera that posted it may ask (agency and camera must match)."""

    frame_id: str = Field(min_length=1, max_length=64)
    agency: str = Field(min_length=1, max_length=64)
    camera_id: str = Field(min_length=1, max_length=200)


class FrameStatus(BaseModel):
    """A frame's outcome: `pending` until records has stored it, then `read` (with its reads), `no_plate`
    or `failed` (with the error's stable code, e.g. `image_undecodable`)."""

    frame_id: str
    status: FrameOutcome
    read_ids: list[str] = Field(default_factory=list)
    plates: list[str] = Field(default_factory=list)  # the plate each read holds, in read_ids' order
    error_code: str | None = None
    completed_at: datetime | None = None


READ_FRAME = Endpoint("alpr.recognize.frame", ReadFrameRequest, FrameReading, queue="recognizer")
FRAME_STATUS = Endpoint("alpr.records.frames.status", FrameStatusRequest, FrameStatus, queue="records")
