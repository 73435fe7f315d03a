"""Predicate-based search between the gateway (or sharing) and records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from libs.common.contracts import vehicles
from libs.common.contracts.reads import Candidate
from libs.common.contracts.vehicles import VehicleAttributes
from libs.common.endpoint import Endpoint
from libs.common.validation import Instant, Line

# a field we do not know is refused (422 naming it), never ignored: `make: toyota` must not return a Ford
_OUR_BODY = ConfigDict(extra="forbid")

MatchedOn = Literal["vendor", "ours", "both"]
# the fewest letters and digits a partial plate may name, searched or listed with wildcards: records asks it
# of a partial search and of every hotlist entry, sharing at the partner's door; fewer would match half a state
MIN_KNOWN_PARTIAL = 3


def known_characters(plate: str) -> int:
    """How many of a plate's characters are known: A-Z and 0-9, not separators, wildcards or other scripts."""
    return sum(ch.isascii() and ch.isalnum() for ch in plate)


class Area(BaseModel):
    """A box (min/max lat/lon) or a point and radius in metres."""

    model_config = _OUR_BODY

    min_lat: float | None = Field(default=None, ge=-90, le=90)
    min_lon: float | None = Field(default=None, ge=-180, le=180)
    max_lat: float | None = Field(default=None, ge=-90, le=90)
    max_lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    radius_m: float | None = Field(default=None, gt=0, le=50_000)


class VehicleQuery(BaseModel):
    """The vehicle a witness describes, in our vocabulary (contracts/vehicles.py): at least one attribute.

    Each name is normalized as ingest normalizes the vendors' (`BMW`, `suv`, `grey` → bmw, suv-crossover,
    silver-gray); a name the vocabulary does not know is a 422 naming the field, never a search that finds
    nothing (or everything).
    """

    model_config = _OUR_BODY

    make: Line | None = Field(default=None, max_length=64, examples=["BMW"])
    model: Line | None = Field(default=None, max_length=64, examples=["X3"])
    color: Line | None = Field(default=None, max_length=32, examples=["white"])
    body_type: Line | None = Field(default=None, max_length=32, examples=["suv"])
    year_from: int | None = Field(default=None, ge=1900, le=2100)
    year_to: int | None = Field(default=None, ge=1900, le=2100)

    @field_validator("make")
    @classmethod
    def _make(cls, value: str | None) -> str | None:
        return None if value is None else _known(vehicles.normalize_make(value), "vehicle_make_unknown", "make")

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        return None if value is None else _known(vehicles.normalize_color(value), "vehicle_color_unknown", "colour")

    @field_validator("body_type")
    @classmethod
    def _body_type(cls, value: str | None) -> str | None:
        known = None if value is None else vehicles.normalize_body_type(value)
        return None if value is None else _known(known, "vehicle_body_type_unknown", "body type")

    @model_validator(mode="after")
    def _described(self) -> VehicleQuery:
        if self.model is not None:
            if self.make is None:
                raise PydanticCustomError("vehicle_model_without_make", "a model is searched with its make")
            self.model = vehicles.normalize_model(self.model, make=self.make)
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise PydanticCustomError("vehicle_empty", "a vehicle search names at least one attribute")
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise PydanticCustomError("vehicle_years_reversed", "year_from is after year_to")
        return self


def _known(canonical: str | None, code: str, what: str) -> str:
    if canonical is None:
        raise PydanticCustomError(code, "not a {what} our vehicle vocabulary knows", {"what": what})
    return canonical


class SearchQuery(BaseModel):
    model_config = _OUR_BODY

    plate: Line | None = Field(default=None, max_length=15, examples=["8ABC123"])
    match: Literal["exact", "partial", "lookalike"] = "exact"
    since: Instant
    until: Instant
    cameras: list[Annotated[Line, Field(max_length=128)]] = Field(default_factory=list, max_length=100)
    state: Line | None = Field(default=None, max_length=3)
    area: Area | None = None
    vehicle: VehicleQuery | None = None
    limit: int = Field(default=100, ge=1, le=1000)
    cursor: Line | None = Field(default=None, max_length=512, description="next_cursor of the previous page")

    @field_validator("plate")
    @classmethod
    def _names_a_plate(cls, value: str | None) -> str | None:
        # "" or "--" is not "any plate": a search with no plate is asked by leaving it out (and needs approval)
        if value is not None and known_characters(value) == 0:
            raise PydanticCustomError("plate_too_short", "the plate names no letter or digit besides separators")
        return value


class ReadSummary(BaseModel):
    read_id: str
    captured_at: datetime
    plate: str | None
    our_plate: str | None = None
    state: str | None = None
    confidence: float | None = None
    agency: str
    camera_id: str
    latitude: float | None = None
    longitude: float | None = None
    location_from_camera: bool = False  # the position is the camera's registered one, not the read's own
    has_image: bool = False
    # which reading a plate search matched: the vendor's plate, our recognizer's, or both; None without a plate
    matched_on: MatchedOn | None = None
    # the vehicle in our vocabulary with the vendor's confidences; None when the vendor sent none
    vehicle_attributes: VehicleAttributes | None = None
    # above 1: an officer corrected the read's plate (G3), and `supersedes` names the version before; a result
    # list says so, so a corrected sighting is never taken for what the camera read
    version: int = 1
    supersedes: str | None = None


class ReadDetail(ReadSummary):
    plate_raw: str | None = None
    our_confidence: float | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    our_candidates: list[Candidate] = Field(default_factory=list)
    vendor: str = "native"
    vendor_format: str = "native"
    vehicle: dict[str, str] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)


class SearchRequest(BaseModel):
    search_id: str
    query: SearchQuery
    case_number: str | None = None  # held copies past retention answer only their hold's case
    # the start of the searcher's look-back: before it, only reads held under `case_number` are found, and
    # a search reaching before it for a case with no active hold is refused; None: no look-back (a partner's
    # search, whose agreement bounds it before records is asked)
    lookback_from: datetime | None = None


class SearchResult(BaseModel):
    search_id: str
    reads: list[ReadSummary]
    next_cursor: str | None = None
    truncated: bool = False


class ReadLookup(BaseModel):
    read_id: str
    # the viewer's case: a held copy past retention answers only its hold's case (None: no held copy)
    case_number: str | None = None


class ReadImageReply(BaseModel):
    read_id: str
    kind: str
    content_type: str
    data_b64: str


# records answers these in queue group `records`; the gateway (and sharing, for partners' searches) asks
SEARCH = Endpoint("alpr.records.search", SearchRequest, SearchResult, queue="records")
READ_DETAIL = Endpoint("alpr.records.read", ReadLookup, ReadDetail, queue="records")
READ_IMAGE = Endpoint("alpr.records.image", ReadLookup, ReadImageReply, queue="records")
