"""A camera's photograph post (`POST /v1/ingest/image`) checked at the door: rules only, no I/O.

The body is the image itself (JPEG, PNG or WebP), or multipart/form-data with an `image` file part and
optional `captured_at`, `latitude` and `longitude` parts. The type is what the bytes are (libs/common/images.py),
never what the Content-Type says; Pillow reads the header (the size) without decoding a pixel, so a frame too
large to decode safely is refused before anything downstream opens it. Each refusal has its own stable code.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from PIL import Image

from libs.common.contracts.reads import stable_read_id
from libs.common.errors import InvalidInput, PayloadTooLarge
from libs.common.images import IMAGE_MAX_BYTES, sniff
from libs.common.validation import DEFAULT_CLOCK_SKEW_S, check_captured_at

from .formdata import FormPart, parse_form
from .timestamps import from_iso

# A frame's pixels: 8K UHD (33 MP) fits; beyond it a small file that declares more is a decompression bomb
# aimed at the recognizer, which decodes every frame whole.
FRAME_MAX_PIXELS: Final = 40_000_000
FRAME_MAX_SIDE: Final = 8192
# room a multipart post needs beyond its image: boundaries, part headers and three short fields
FORM_ROOM: Final = 64 * 1024
FRAME_BODY_MAX: Final = IMAGE_MAX_BYTES + FORM_ROOM
_FIELD_MAX: Final = 64  # a time or a coordinate as text is far shorter; past this a part is not one
_PILLOW: Final = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class FramePost:
    """A photograph accepted at the door: its bytes unchanged, their sniffed type and size, and what came with it."""

    data: bytes
    content_type: str
    width: int
    height: int
    captured_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


def parse_frame_post(
    body: bytes,
    content_type: str,
    *,
    received_at: datetime,
    active_retention_days: int,
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S,
) -> FramePost:
    """The post as a FramePost, or the AlprError naming what is wrong with it."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        return _checked(body)
    parts: dict[str, FormPart] = {}
    for part in parse_form(body, content_type):
        if part.name in parts:
            # two images, or two times: which one the camera meant is not ours to guess
            raise InvalidInput(f"the form has more than one `{part.name}` part", code="invalid_field", field=part.name)
        parts[part.name] = part
    image = parts.get("image")
    if image is None:
        raise InvalidInput("the form has no `image` part", code="image_missing", field="image")
    fields = {name: _text(part.data, name) for name, part in parts.items() if name != "image"}
    frame = _checked(image.data)
    captured_at = None
    if fields.get("captured_at"):
        captured_at = _captured_at(
            fields["captured_at"],
            received_at=received_at,
            active_retention_days=active_retention_days,
            clock_skew_s=clock_skew_s,
        )
    latitude, longitude = _position(fields.get("latitude"), fields.get("longitude"))
    return FramePost(
        data=frame.data,
        content_type=frame.content_type,
        width=frame.width,
        height=frame.height,
        captured_at=captured_at,
        latitude=latitude,
        longitude=longitude,
    )


def frame_id(agency: str, camera_id: str, data: bytes, captured_at: datetime | None) -> str:
    """The same photograph from the same camera at the same stated time is the same frame: a resend maps to
    the id it had, so JetStream (its message id) and records (its key) hold it once."""
    stated = captured_at.isoformat() if captured_at is not None else ""
    return stable_read_id("frame", agency, camera_id, hashlib.sha256(data).hexdigest(), stated)


def _checked(data: bytes) -> FramePost:
    """The image's sniffed type and size, or the refusal: empty, too many bytes, not an image, unreadable,
    too many pixels."""
    if not data:
        raise InvalidInput("the post carries no image", code="image_missing", field="image")
    if len(data) > IMAGE_MAX_BYTES:
        raise PayloadTooLarge(
            f"the image exceeds {IMAGE_MAX_BYTES} bytes", code="image_too_large", max_bytes=IMAGE_MAX_BYTES
        )
    content_type = sniff(data)
    if content_type is None:
        raise InvalidInput("the image is not JPEG, PNG or WebP by its bytes", code="not_an_image", field="image")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning is far above our bound; ours is checked on the size below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_PILLOW[content_type]]) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        width = height = FRAME_MAX_SIDE + 1  # over every bound: refused below as too large
    except Exception:  # hostile bytes make Pillow's parsers raise all kinds; each means "not readable"
        raise InvalidInput(
            f"the image is not a readable {_PILLOW[content_type]}", code="image_undecodable", field="image"
        ) from None
    if width < 1 or height < 1 or width * height > FRAME_MAX_PIXELS or max(width, height) > FRAME_MAX_SIDE:
        raise PayloadTooLarge(
            f"the image declares {width}x{height} pixels; at most {FRAME_MAX_PIXELS} and {FRAME_MAX_SIDE} a side",
            code="image_too_large",
            max_pixels=FRAME_MAX_PIXELS,
            max_side=FRAME_MAX_SIDE,
        )
    return FramePost(data=data, content_type=content_type, width=width, height=height)


def _text(data: bytes, name: str) -> str:
    if len(data) > _FIELD_MAX:
        raise InvalidInput(f"{name} is too long", code="invalid_field", field=name)
    try:
        return data.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not ASCII text", code="invalid_field", field=name) from None


def _captured_at(value: str, *, received_at: datetime, active_retention_days: int, clock_skew_s: float) -> datetime:
    stamp = from_iso(value, field="captured_at")
    if stamp.zone_assumed:
        # a camera's local time read as UTC would be hours off: the time must say its zone
        raise InvalidInput("captured_at must carry a time zone", code="invalid_field", field="captured_at")
    return check_captured_at(
        stamp.at, now=received_at, active_retention_days=active_retention_days, clock_skew_s=clock_skew_s
    )


def _position(latitude: str | None, longitude: str | None) -> tuple[float | None, float | None]:
    """Both or neither; 0,0 is how cameras say "no GPS" (the camera's registered place is used instead)."""
    if not latitude and not longitude:
        return None, None
    if not latitude or not longitude:
        missing = "latitude" if not latitude else "longitude"
        raise InvalidInput("latitude and longitude come together", code="invalid_field", field=missing)
    lat, lon = _degrees(latitude, "latitude", 90), _degrees(longitude, "longitude", 180)
    return (None, None) if lat == 0 and lon == 0 else (lat, lon)


def _degrees(value: str, name: str, bound: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{name} is not a number", code="invalid_field", field=name) from None
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise InvalidInput(f"{name} is outside ±{bound:g}", code="invalid_field", field=name)
    return number
