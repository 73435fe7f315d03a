"""Messages to and from the recognizer: a camera image with a plate box in, a plate reading out.

Endpoint (request/reply, queue group `recognizer`, so replicas share the load): `RECOGNIZE`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from libs.common.contracts.reads import Box, Candidate, Point
from libs.common.endpoint import Endpoint


class RecognizeRequest(BaseModel):
    """Read the plate in a JPEG/PNG; box or polygon (TL, TR, BR, BL) says where it is, else the image is the crop."""

    image_b64: str = Field(min_length=1)
    box: Box | None = None
    # four points expected; other counts are refused by the recognizer as `polygon_invalid`, not here,
    # so a sender building a request from a vendor's polygon gets a typed reply instead of a crash
    polygon: list[Point] | None = None
    # the vendor's two-letter state, when it sent one: the recognizer re-ranks its own candidates by that
    # state's serial formats (never adds one); checked by the recognizer (`state_invalid`)
    state: str | None = None
    # no box and no polygon, and the image is a scene rather than a crop: find the plates first (the
    # detector) and read the one whose reading is nearest `plate_hint` (the vendor's text), else the best
    # found; a vendor's scene photo without a box gets our second opinion this way
    find_plate: bool = False
    plate_hint: str | None = Field(default=None, max_length=32)


class Recognition(BaseModel):
    """What the recognizer read: the best plate, its confidences and the ranked alternatives."""

    plate: str
    confidence: float = Field(ge=0.0, le=1.0)
    char_confidences: list[float]
    candidates: list[Candidate]
    model_version: str
    # the confidence reached the model's SURE level: reads that confident were at most 1% wrong on its
    # calibration crops (services/recognizer/MODEL_CARD.md)
    sure: bool = False
    elapsed_ms: float = Field(ge=0.0)
    # where the plate was found, when the request asked the recognizer to find it (`find_plate`)
    found_box: Box | None = None
    found_polygon: list[Point] | None = None
    detection_score: float | None = Field(default=None, ge=0.0, le=1.0)


RECOGNIZE = Endpoint("alpr.recognize", RecognizeRequest, Recognition, queue="recognizer")
