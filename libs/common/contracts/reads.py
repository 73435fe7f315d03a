"""A plate read as every service sees it, whatever vendor format it arrived in."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from libs.common.contracts.vehicles import VehicleAttributes
from libs.common.validation import DEFAULT_CLOCK_SKEW_S, check_captured_at, text_problem

PLATE_MAX_LEN = 15
_PLATE_STRIP = re.compile(r"[\s\-\.·•_]+")
_PLATE_OK = re.compile(r"^[A-Z0-9]+$")

ImageKind = Literal["plate", "vehicle", "overview"]


def normalize_plate(raw: str) -> str:
    """Upper-case and drop spaces, dashes and separators (FORMATS.md §14); the raw text is kept apart."""
    upper = raw.upper()
    if upper.isalnum() and upper.isascii():  # most plates: no separator to drop, so no regex to run
        return upper
    return _PLATE_STRIP.sub("", upper)


def plate_is_acceptable(plate: str) -> bool:
    """A stored plate is 1–15 characters of A–Z and 0–9."""
    return 0 < len(plate) <= PLATE_MAX_LEN and bool(_PLATE_OK.match(plate))


def _text_refusal(value: str, *, limit: int | None, multiline: bool = False) -> str:
    """The text unchanged, or the pydantic error the gateway turns into `invalid_text`/`text_too_long`."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise PydanticCustomError(
            "invalid_text", "the text contains a {problem}", {"problem": problem.replace("_", " ")}
        )
    if limit is not None and len(value) > limit:
        raise PydanticCustomError("text_too_long", "the text is longer than {limit} characters", {"limit": limit})
    return value


class Point(BaseModel):
    # NaN and infinities are not JSON: PostgreSQL refuses them in a jsonb column
    model_config = ConfigDict(allow_inf_nan=False)

    x: float
    y: float


class Box(BaseModel):
    """Axis-aligned box in image pixels: top-left corner and size."""

    model_config = ConfigDict(allow_inf_nan=False)

    x: float
    y: float
    width: float
    height: float


class Candidate(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)

    plate: str
    confidence: float = Field(ge=0.0, le=1.0)

    @field_validator("plate")
    @classmethod
    def _plate_text(cls, value: str) -> str:
        return _text_refusal(value, limit=PLATE_MAX_LEN)


class ReadImage(BaseModel):
    """An image that came with a read; bytes travel base64 in JSON, typed by their sniffed type."""

    kind: ImageKind
    content_type: str = "image/jpeg"  # what libs.common.images sniffed, never what the sender said
    data_b64: str
    digest: str | None = None  # libs.common.images.digest of the bytes: how raw_body names this image


# The longest each text field may be; a vendor never comes near, so past it a read is broken or hostile.
TEXT_LIMITS: dict[str, int] = {
    "read_id": 64,
    "agency": 64,
    "camera_id": 200,
    "plate": PLATE_MAX_LEN,
    "plate_raw": 100,
    "state": 8,
    "confidence_raw": 64,
    "vendor": 64,
    "vendor_format": 128,
}
NAME_MAX = 200  # a vehicle attribute's name or value, an image's content type, a flag


def _line(name: str) -> AfterValidator:
    """A text field's rule (TEXT_LIMITS), run only on a text: a field sent as null costs no call."""
    limit = TEXT_LIMITS[name]
    multiline = name == "plate_raw"  # a two-row plate's raw text keeps its line break (FORMATS.md §14.5)

    def rule(value: str) -> str:
        # printable and within its limit: what _text_refusal passes, decided without its two calls (nine text
        # fields a read, parsed in the gateway and again in records; a rule without ValidationInfo is cheaper)
        if value.isprintable() and len(value) <= limit:
            return value
        return _text_refusal(value, limit=limit, multiline=multiline)

    return AfterValidator(rule)


def _aware_utc(name: str) -> AfterValidator:
    """An instant with its zone, as UTC; run only on an instant, not on a null."""

    def rule(value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError(f"{name} must carry a time zone")
        try:
            return value.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 with an offset has no UTC equivalent
            raise PydanticCustomError("time_out_of_range", "the time cannot be expressed in UTC") from None

    return AfterValidator(rule)


class ReadIn(BaseModel):
    """One normalized read, as the gateway publishes it on READS.

    Its validators are the text rules every read must pass (NUL, other controls, lone surrogates, length):
    the gateway builds reads through them and records parses them through them again, so a read the gateway
    accepts is one records can store. The time rule needs settings and a clock: `check_window`. The rules of
    single texts and instants sit on the fields' types (`_line`, `_aware_utc`), so a null runs none.
    """

    model_config = ConfigDict(allow_inf_nan=False)

    read_id: Annotated[str, _line("read_id")]
    agency: Annotated[str, _line("agency")]
    camera_id: Annotated[str, _line("camera_id")]
    captured_at: Annotated[datetime, _aware_utc("captured_at")]
    # normalized vendor text; None for a vehicle seen without a plate
    plate: Annotated[str, _line("plate")] | None = None
    plate_raw: Annotated[str, _line("plate_raw")] | None = None
    state: Annotated[str, _line("state")] | None = None  # two-letter US state or region code, upper-case
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    confidence_raw: Annotated[str, _line("confidence_raw")] | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    # the position is the camera's registered one (the read carried none), not where the read was taken
    location_from_camera: bool = False
    heading: float | None = None
    plate_box: Box | None = None
    plate_polygon: list[Point] | None = None  # TL, TR, BR, BL as OpenALPR sends
    vehicle: dict[str, str] = Field(default_factory=dict)  # make, model, colour, type as the vendor named them
    # the same vehicle in the shared taxonomy (libs.common.contracts.vehicles), raw values and confidences kept;
    # None in reads published before this field existed or when the vendor said nothing about the vehicle
    vehicle_attributes: VehicleAttributes | None = None
    images: list[ReadImage] = Field(default_factory=list)
    vendor: Annotated[str, _line("vendor")] = "native"
    vendor_format: Annotated[str, _line("vendor_format")] = "native"
    raw_body: str | None = None  # the vendor's body (base64 when binary), its kept images named by digest
    flags: list[str] = Field(default_factory=list)
    replaces: list[str] = Field(default_factory=list)  # preview reads this final read supersedes
    # when the gateway took the read: the instant its capture window was checked at, so records checks the
    # same window whenever it gets to the message; None in reads published before this field existed
    received_at: Annotated[datetime, _aware_utc("received_at")] | None = None

    @field_validator("raw_body")
    @classmethod
    def _document(cls, value: str | None) -> str | None:
        # the vendor's whole document: lines allowed, its size bounded by the body limit instead
        if value is None or value.isprintable():
            return value
        return _text_refusal(value, limit=None, multiline=True)

    @field_validator("vehicle")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, said in value.items():
            _text_refusal(name, limit=NAME_MAX)
            _text_refusal(said, limit=NAME_MAX)
        return value

    @field_validator("flags", "replaces")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        for label in value:
            _text_refusal(label, limit=NAME_MAX)
        return value

    @field_validator("images")
    @classmethod
    def _image_types(cls, value: list[ReadImage]) -> list[ReadImage]:
        for image in value:
            _text_refusal(image.content_type, limit=NAME_MAX)
        return value

    def check_window(
        self, *, active_retention_days: int, clock_skew_s: float = DEFAULT_CLOCK_SKEW_S, now: datetime | None = None
    ) -> None:
        """InvalidInput unless captured_at lies in [purge cutoff, now + skew] at the moment the gateway took it.

        The gateway calls this before answering; records calls it again on the same read, against the same
        `received_at`, so nothing the gateway accepted is refused behind it.
        """
        check_captured_at(
            self.captured_at,
            now=self.received_at or now,
            active_retention_days=active_retention_days,
            clock_skew_s=clock_skew_s,
        )


def stable_read_id(*parts: object) -> str:
    """A read id derived from what identifies a read at its source, so any resend maps to the same id."""
    # str(uuid.UUID(bytes=digest[:16], version=5)), without building the UUID (2.8 -> 1.6 us a read)
    b = bytearray(hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# A READS message holds one read, or, with this header naming how many, a bundle {"reads": [...]} of a
# batch post's reads from one camera: a message per read cost the bus and records more than the read.
BUNDLE_HEADER = "Alpr-Reads"


class ReadBundle(BaseModel):
    reads: list[ReadIn]
