"""Records rules: what a stored read looks like, what retention allows, how a search becomes predicates."""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from libs.common.contracts.reads import ReadIn, normalize_plate
from libs.common.contracts.recognition import Recognition
from libs.common.contracts.search import Area, SearchQuery
from libs.common.errors import InvalidInput
from libs.common.validation import check_captured_at, check_instant, text_problem
from services.records.lookalike import DEFAULT_LOOKALIKES, LookalikeClasses, lookalike_key

MIN_KNOWN_PARTIAL = 3


@dataclass
class ReadRow:
    """A read as records stores it: the vendor's reading and ours side by side."""

    read: ReadIn
    recognition: Recognition | None = None
    extra_flags: list[str] = field(default_factory=list)
    hotlist_hit: bool = False
    classes: LookalikeClasses = DEFAULT_LOOKALIKES

    def values(self, columns: tuple[str, ...]) -> list[Any]:
        r, rec = self.read, self.recognition
        key_source = r.plate or (rec.plate if rec else None)
        row: dict[str, Any] = {
            "read_id": r.read_id,
            "captured_at": r.captured_at,
            "agency": r.agency,
            "camera_id": r.camera_id,
            "plate": r.plate,
            "plate_raw": r.plate_raw,
            "lookalike_key": lookalike_key(key_source, self.classes) if key_source else None,
            "state": r.state,
            "confidence": r.confidence,
            "confidence_raw": r.confidence_raw,
            "candidates": [c.model_dump() for c in r.candidates],
            "our_plate": rec.plate if rec else None,
            "our_confidence": rec.confidence if rec else None,
            "our_char_confidences": rec.char_confidences if rec else None,
            "our_candidates": [c.model_dump() for c in rec.candidates] if rec else None,
            "our_model": rec.model_version if rec else None,
            "latitude": r.latitude,
            "longitude": r.longitude,
            "heading": r.heading,
            "plate_box": r.plate_box.model_dump() if r.plate_box else None,
            "plate_polygon": [p.model_dump() for p in r.plate_polygon] if r.plate_polygon else None,
            "vehicle": r.vehicle,
            "vendor": r.vendor,
            "vendor_format": r.vendor_format,
            "raw_body": r.raw_body,
            "flags": sorted({*r.flags, *self.extra_flags}),
            "has_image": bool(r.images),
            "hotlist_hit": self.hotlist_hit,
        }
        return [row[c] for c in columns]

    def decoded_images(self) -> list[tuple[str, datetime, str, str, bytes]]:
        """Images that decode from base64; the others are flagged on the read, not refused."""
        out: list[tuple[str, datetime, str, str, bytes]] = []
        for image in self.read.images:
            try:
                data = base64.b64decode(image.data_b64, validate=True)
            except ValueError:
                self.extra_flags.append("image_undecodable")
                continue
            if data:
                out.append((self.read.read_id, self.read.captured_at, image.kind, image.content_type, data))
        return out


def retention_cutoff(now: datetime, active_retention_days: int) -> datetime:
    """Reads captured before this moment may not be kept in the live database."""
    return now - timedelta(days=active_retention_days)


def search_predicates(
    query: SearchQuery, classes: LookalikeClasses = DEFAULT_LOOKALIKES
) -> tuple[list[str], dict[str, Any]]:
    """SQL predicates (bound parameters only) for a validated search query."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if query.plate:
        plate = query.plate.upper().replace(" ", "").replace("-", "")
        if query.match == "exact":
            where.append("plate = :plate")
            params["plate"] = normalize_plate(plate)
        elif query.match == "lookalike":
            key = lookalike_key(normalize_plate(plate), classes)
            where.append("lookalike_key = :lkey")
            params["lkey"] = key
        else:
            known = sum(ch.isalnum() for ch in plate)
            if known < MIN_KNOWN_PARTIAL:
                raise InvalidInput("a partial plate needs at least 3 known characters", code="partial_too_short")
            pattern = plate.replace("%", "").replace("_", "").replace("*", "%").replace("?", "_")
            if "%" not in pattern and "_" not in pattern:
                pattern = f"%{pattern}%"
            where.append("plate LIKE :pattern")
            params["pattern"] = pattern
    if query.cameras:
        where.append("camera_id = ANY(:cameras)")
        params["cameras"] = list(query.cameras)
    if query.state:
        where.append("state = :state")
        params["state"] = query.state.upper()
    if query.area:
        where.extend(_area_predicates(query.area, params))
    return where, params


def _area_predicates(area: Area, params: dict[str, Any]) -> list[str]:
    if area.lat is not None and area.lon is not None and area.radius_m:
        # a bounding box prefilter, then the great-circle distance
        dlat = area.radius_m / 111_320.0
        dlon = area.radius_m / (111_320.0 * max(math.cos(math.radians(area.lat)), 0.01))
        params.update(
            min_lat=area.lat - dlat,
            max_lat=area.lat + dlat,
            min_lon=area.lon - dlon,
            max_lon=area.lon + dlon,
            c_lat=area.lat,
            c_lon=area.lon,
            radius=area.radius_m,
        )
        return [
            "latitude BETWEEN :min_lat AND :max_lat",
            "longitude BETWEEN :min_lon AND :max_lon",
            "2 * 6371000 * asin(sqrt(power(sin(radians(latitude - :c_lat) / 2), 2) + cos(radians(:c_lat)) "
            "* cos(radians(latitude)) * power(sin(radians(longitude - :c_lon) / 2), 2))) <= :radius",
        ]
    if None not in (area.min_lat, area.max_lat, area.min_lon, area.max_lon):
        params.update(min_lat=area.min_lat, max_lat=area.max_lat, min_lon=area.min_lon, max_lon=area.max_lon)
        return ["latitude BETWEEN :min_lat AND :max_lat", "longitude BETWEEN :min_lon AND :max_lon"]
    raise InvalidInput("an area is a box or a point with a radius", code="invalid_area")


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


def read_refusal(read: ReadIn, *, now: datetime, active_retention_days: int, clock_skew_s: float) -> str | None:
    """Why records may not store this read, as a stable code (the gateway's rules, met again on the bus).

    `captured_before_retention` is dropped (the law forbids keeping it); any other code is dead-lettered.
    """
    try:
        check_captured_at(
            read.captured_at, now=now, active_retention_days=active_retention_days, clock_skew_s=clock_skew_s
        )
    except InvalidInput as err:
        return err.code
    except OverflowError:  # year 1 or 9999 with an offset: no instant in UTC
        return "time_out_of_range"
    for name, value in _read_texts(read):
        problem = text_problem(value, multiline=name == "raw_body")
        if problem is not None:
            return f"{problem}:{name}"
    return None


def _read_texts(read: ReadIn) -> list[tuple[str, str]]:
    """Every text of a read that is stored as text (image bytes are checked by decoding them)."""
    texts = [
        (name, value)
        for name in ("read_id", "agency", "camera_id", "plate", "plate_raw", "state", "confidence_raw", "vendor")
        if isinstance(value := getattr(read, name), str)
    ]
    texts += [("vendor_format", read.vendor_format), ("raw_body", read.raw_body or "")]
    texts += [("flags", f) for f in read.flags] + [("replaces", r) for r in read.replaces]
    texts += [("candidates.plate", c.plate) for c in read.candidates]
    texts += [(f"vehicle.{k}", f"{k}{v}") for k, v in read.vehicle.items()]
    texts += [("images.content_type", i.content_type) for i in read.images]
    return texts
