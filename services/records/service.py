"""Records rules: what a stored read looks like, what retention allows, what a search may ask."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from libs.common.contracts.reads import ReadImage, ReadIn, normalize_plate
from libs.common.contracts.recognition import Recognition
from libs.common.contracts.search import MIN_KNOWN_PARTIAL, Area, MatchedOn, SearchQuery
from libs.common.contracts.vehicles import VehicleAttributes
from libs.common.errors import Forbidden, InvalidInput
from libs.common.images import IMAGE_MAX_BYTES, REFUSED, UNDECODABLE, ImageRefused, checked_type, digest
from libs.common.validation import capture_window, check_instant, retention_cutoff
from services.records.lookalike import DEFAULT_LOOKALIKES, LookalikeClasses, lookalike_key


@dataclass
class ReadRow:
    """A read as records stores it: the vendor's reading and ours side by side."""

    read: ReadIn
    recognition: Recognition | None = None
    recognition_asked: bool = False  # the recognizer was asked (answered or not): not asked again
    extra_flags: list[str] = field(default_factory=list)
    hotlist_hit: bool = False
    classes: LookalikeClasses = DEFAULT_LOOKALIKES
    _images: list[tuple[str, datetime, str, str, bytes]] | None = field(default=None, init=False, repr=False)

    def values(self) -> list[Any]:
        """The row's values in ROW_COLUMNS' order: the insert's row type (repository.reads.INSERT_COLUMNS)."""
        r, rec = self.read, self.recognition
        key_source = r.plate or (rec.plate if rec else None)
        said = (
            r.vehicle_attributes if r.vehicle_attributes is not None and not r.vehicle_attributes.is_empty() else None
        )
        # a list in ROW_COLUMNS' order, not a dict picked from: the insert's 37 values a read without hashing
        # a name for each (with _row_values' encoders, a read's values took 4.7 µs in process, now 2.1)
        row = [
            r.read_id,
            r.captured_at,
            r.agency,
            r.camera_id,
            r.plate,
            r.plate_raw,
            lookalike_key(key_source, self.classes) if key_source else None,
            r.state,
            r.confidence,
            r.confidence_raw,
            [c.model_dump() for c in r.candidates],
            rec.plate if rec else None,
            rec.confidence if rec else None,
            rec.char_confidences if rec else None,
            [c.model_dump() for c in rec.candidates] if rec else None,
            rec.model_version if rec else None,
            r.latitude,
            r.longitude,
            r.heading,
            r.plate_box.model_dump() if r.plate_box else None,
            [p.model_dump() for p in r.plate_polygon] if r.plate_polygon else None,
            r.vehicle,
            r.vendor,
            r.vendor_format,
            r.raw_body,
            sorted({*r.flags, *self.extra_flags}) if r.flags or self.extra_flags else [],
            bool(self.decoded_images()),
            self.hotlist_hit,
            lookalike_key(rec.plate, self.classes) if rec else None,
            r.location_from_camera,
            *(vehicle_values(said) if said is not None else _NO_VEHICLE),
        ]
        return row

    def decoded_images(self) -> list[tuple[str, datetime, str, str, bytes]]:
        """Images that are images by the gateway's rule (libs.common.images), under their sniffed type.

        The others are flagged on the read, not refused: a message on READS need not come from our gateway.
        Worked out once per row, so the flags and `has_image` agree however often it is asked.
        """
        if self._images is None:
            images = self.read.images  # most reads carry none: asked of every row of a batch, twice
            self._images = [image for image in map(self._stored_image, images) if image] if images else []
        return self._images

    def _stored_image(self, image: ReadImage) -> tuple[str, datetime, str, str, bytes] | None:
        try:
            data = base64.b64decode(image.data_b64, validate=True)
            if not data or (image.digest is not None and image.digest != digest(data)):
                raise ImageRefused(UNDECODABLE, "empty, or not the bytes its digest names")
            if len(data) > IMAGE_MAX_BYTES:
                raise ImageRefused(REFUSED, "larger than an image may be")
            content_type = checked_type(data)
        except ValueError as err:  # binascii.Error and ImageRefused are ValueErrors
            flag = err.flag if isinstance(err, ImageRefused) else UNDECODABLE
            if flag not in self.extra_flags:
                self.extra_flags.append(flag)
            return None
        return self.read.read_id, self.read.captured_at, image.kind, content_type, data


# a read's vehicle columns (migration 0009), in the order of the insert's row type
VEHICLE_COLUMNS = (
    "vehicle_make", "vehicle_model", "vehicle_color", "vehicle_body_type", "vehicle_year_from", "vehicle_year_to",
    "vehicle_attributes",
)  # fmt: skip


def vehicle_values(said: VehicleAttributes) -> tuple[Any, ...]:
    """The vehicle columns of a read that says something of its vehicle, in VEHICLE_COLUMNS' order."""
    return (
        said.make, said.model, said.color, said.body_type, said.year_from, said.year_to, said.model_dump(mode="json")
    )  # fmt: skip


# the columns of a stored read as ReadRow.values builds them: the order of the insert's row type (migration 0011)
ROW_COLUMNS = (
    "read_id", "captured_at", "agency", "camera_id", "plate", "plate_raw", "lookalike_key", "state", "confidence",
    "confidence_raw", "candidates", "our_plate", "our_confidence", "our_char_confidences", "our_candidates",
    "our_model", "latitude", "longitude", "heading", "plate_box", "plate_polygon", "vehicle", "vendor",
    "vendor_format", "raw_body", "flags", "has_image", "hotlist_hit", "our_lookalike_key", "location_from_camera",
    *VEHICLE_COLUMNS,
)  # fmt: skip
_NO_VEHICLE = (None,) * len(VEHICLE_COLUMNS)  # most reads say nothing of the vehicle


def query_plate(plate: str) -> str:
    """A searched plate as asked, upper case, without spaces and dashes (wildcards kept)."""
    return plate.upper().replace(" ", "").replace("-", "")


def check_partial(plate: str) -> None:
    """A partial plate names at least MIN_KNOWN_PARTIAL characters; fewer would match half the state."""
    if sum(ch.isalnum() for ch in plate) < MIN_KNOWN_PARTIAL:
        raise InvalidInput("a partial plate needs at least 3 known characters", code="partial_too_short")


def area_shape(area: Area) -> Literal["circle", "box"]:
    """A search area is a point with a radius or a box; anything else is refused (invalid_area)."""
    if area.lat is not None and area.lon is not None and area.radius_m:
        return "circle"
    if None not in (area.min_lat, area.max_lat, area.min_lon, area.max_lon):
        return "box"
    raise InvalidInput("an area is a box or a point with a radius", code="invalid_area")


def matched_on(
    query: SearchQuery, plate: str | None, our_plate: str | None, classes: LookalikeClasses = DEFAULT_LOOKALIKES
) -> MatchedOn | None:
    """Which reading of a found read a plate search matched: the vendor's, ours, or both; None without a plate.

    A partial plate is matched on the vendor's plate only (its trigram index covers that column alone).
    """
    if not query.plate:
        return None
    if query.match == "partial":
        return "vendor"
    lookalike = query.match == "lookalike"
    wanted = normalize_plate(query_plate(query.plate))
    wanted = lookalike_key(wanted, classes) if lookalike else wanted

    def same(reading: str | None) -> bool:
        return reading is not None and (lookalike_key(reading, classes) if lookalike else reading) == wanted

    vendor, ours = same(plate), same(our_plate)
    if vendor and ours:
        return "both"
    return "ours" if ours else "vendor"


def held_only_before(since: datetime, lookback_from: datetime | None, *, case_holds: bool) -> datetime | None:
    """B2: where a search that reaches past its look-back stops finding every read; None when it does not reach.

    Before the look-back start only reads held under the search's case are found, and only when that case has
    an active hold: a search past the look-back for any other case is refused (lookback_exceeded), fail closed.
    """
    if lookback_from is None or since >= lookback_from:
        return None
    if not case_holds:
        raise Forbidden("the window reaches further back than your class allows", code="lookback_exceeded")
    return lookback_from


def encode_cursor(captured_at: datetime, read_id: str) -> str:
    raw = json.dumps([captured_at.astimezone(UTC).isoformat(), read_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names: an aware time we can carry and a read id, or InvalidInput (invalid_cursor)."""
    try:
        moment, read_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        at = check_instant(datetime.fromisoformat(moment), field="cursor")
        if at.tzinfo is None:
            raise ValueError("a cursor's time carries its zone")
        return at, str(uuid.UUID(read_id))
    except (ValueError, TypeError, AttributeError, InvalidInput) as exc:
        raise InvalidInput("the cursor is not one this service issued", code="invalid_cursor") from exc


# A read id as PostgreSQL writes a uuid back. A store learns which reads it inserted from the ids it returns, so an
# id spelt otherwise (upper case, no dashes) was stored and then taken for one already there: not counted, its
# hotlist alert never raised. The gateway only publishes this spelling; anything else came past it onto the bus.
_CANONICAL_READ_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def read_id_refusal(read_id: str) -> str | None:
    """`read_id_not_canonical` unless the id is a uuid in PostgreSQL's own spelling (set apart, never rewritten:
    the camera was answered with the id the gateway gave, and a replay must find the same one)."""
    return None if _CANONICAL_READ_ID.fullmatch(read_id) else "read_id_not_canonical"


class CaptureWindows:
    """`read_refusal` for the reads of one fetched batch, the capture window worked out once per instant.

    A batch post's reads share the instant the gateway took them (`received_at`), so a bundle of a thousand
    has one window, not a thousand (two datetime subtractions and a cutoff each). A read inside its window and
    the cutoff is stored; only one outside asks `read_refusal`, whose codes stay the one rule.
    """

    def __init__(self, *, now: datetime, active_retention_days: int, clock_skew_s: float) -> None:
        self.now = now
        self.active_retention_days = active_retention_days
        self.clock_skew_s = clock_skew_s
        self.cutoff = retention_cutoff(now, active_retention_days)
        self._windows: dict[datetime | None, tuple[datetime, datetime] | None] = {}

    def refusal(self, read: ReadIn) -> str | None:
        """Why records may not store this read, as `read_refusal` says it; None when it may."""
        received = read.received_at
        if received in self._windows:
            window = self._windows[received]
        else:
            try:
                window = capture_window(
                    received or self.now,
                    active_retention_days=self.active_retention_days,
                    clock_skew_s=self.clock_skew_s,
                )
            except OverflowError:
                window = None  # no window at such an instant: read_refusal names why
            self._windows[received] = window
        if window is not None and window[0] <= read.captured_at <= window[1] and read.captured_at >= self.cutoff:
            return None
        return read_refusal(
            read, now=self.now, active_retention_days=self.active_retention_days, clock_skew_s=self.clock_skew_s
        )


def read_refusal(read: ReadIn, *, now: datetime, active_retention_days: int, clock_skew_s: float) -> str | None:
    """Why records may not store this read, as a stable code (the gateway's rules, met again on the bus).

    `captured_before_retention` is dropped (the law forbids keeping it); any other code is dead-lettered.
    """
    try:
        # the gateway's own rule, at the instant the gateway took the read (its received_at), so nothing it
        # accepted is refused here; a read outside it slipped past the gateway and is set apart, not dropped
        read.check_window(active_retention_days=active_retention_days, clock_skew_s=clock_skew_s, now=now)
    except InvalidInput as err:
        return f"{err.code}_at_receipt" if err.code == "captured_before_retention" else err.code
    except OverflowError:  # year 1 or 9999 with an offset: no instant in UTC
        return "time_out_of_range"
    if read.captured_at < retention_cutoff(now, active_retention_days):
        return "captured_before_retention"  # taken in time, expired while queued: the law forbids keeping it
    # text needs no second look: ReadIn's validators refused it while the message was parsed
    return None
