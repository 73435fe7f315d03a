"""Axis cameras with the FF Group LPR ACAP: multipart `event`+`image`, or the event JSON (FORMATS.md §6)."""

from __future__ import annotations

import math
from typing import Any

from libs.common.contracts.reads import Box, ImageKind, ReadImage

from ..body import decode_json
from ..confidence import confidence
from ..fields import invalid, number, optional
from ..geometry import polygon_of_box
from ..identity import read_id
from ..images import image_from_bytes
from ..payload import IngestContext, ParsedPayload, PayloadBuilder
from ..plates import PlateRefused, PlateText, plate_text
from ..positions import position
from ..timestamps import Stamp, from_epoch, from_ff_group

VENDOR = "axis"
_IMAGE_KINDS: dict[str, ImageKind] = {
    "plate": "plate",
    "mmrcrop": "vehicle",
    "vehicle": "vehicle",
    "frame": "overview",
}


def parse(ctx: IngestContext) -> ParsedPayload:
    """One read per event; the attached picture's kind comes from the event's `imageType`."""
    images: list[ReadImage] = []
    flags: list[str] = []
    if ctx.body.media in ("multipart", "form"):
        part = ctx.body.part("event")
        if part is None:
            raise invalid("event", "multipart part")
        doc, vendor_format = decode_json(part.data), f"{VENDOR}.ffgroup_multipart"
    else:
        doc, vendor_format = ctx.body.document, f"{VENDOR}.ffgroup_json"
    if not isinstance(doc, dict):
        raise invalid("$", "object")
    if ctx.body.media in ("multipart", "form"):
        upload = ctx.body.part("image")
        kind = _IMAGE_KINDS.get(str(doc.get("imageType")), "overview")
        image = image_from_bytes(upload.data, kind, flags) if upload else None
        images = [image] if image else []
    serial = (optional(doc, "camera_info", dict) or {}).get("SerialNumber")
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=serial)
    try:
        plate = _plate(doc)
    except PlateRefused as refusal:
        builder.refuse(refusal, index=0)
        return builder.done()
    stamp = _captured(doc)
    flags += ["captured_at_zone_assumed"] if stamp.zone_assumed else []
    conf = confidence(doc.get("plateConfidence"), scale=1.0, field="plateConfidence")
    geotag = optional(doc, "geotag", dict) or {}
    lat, lon = position(number(geotag, "lat", path="geotag"), number(geotag, "lon", path="geotag"), flags)
    box = _box(doc)
    source = "|".join(str(doc.get(k)) for k in ("carID", "packetCounter", "capture_timestamp", "datetime"))
    builder.add(
        vendor_format=vendor_format,
        read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, f"{serial}|{source}", 0),
        captured_at=stamp.at,
        plate=plate.plate,
        plate_raw=plate.raw,
        confidence=conf.value,
        confidence_raw=conf.raw,
        latitude=lat,
        longitude=lon,
        plate_box=box,
        plate_polygon=polygon_of_box(box) if box else None,
        images=images,
        flags=flags,
    )
    return builder.done()


def _plate(doc: dict[str, Any]) -> PlateText:
    """`plateUTF8` as sent; when it is not Latin, `plateASCII` is what can be stored and matched."""
    utf8 = optional(doc, "plateUTF8", str)
    ascii_text = optional(doc, "plateASCII", str)
    sent = utf8 or ascii_text
    if sent is None:
        raise invalid("plateUTF8", "string")
    try:
        return plate_text(sent)
    except PlateRefused as refusal:
        if refusal.reason != "plate_charset" or not ascii_text:
            raise
        return PlateText(plate_text(ascii_text).plate, sent)


def _captured(doc: dict[str, Any]) -> Stamp:
    # `datetime` is documented as UTC but real cameras send local time; the epoch fields are unambiguous.
    if doc.get("capture_timestamp") not in (None, ""):
        return from_epoch(doc["capture_timestamp"], field="capture_timestamp")
    if doc.get("capture_ts") not in (None, ""):
        return from_epoch(doc["capture_ts"], field="capture_ts")
    sent = optional(doc, "datetime", str)
    if sent is None:
        raise invalid("capture_timestamp", "epoch milliseconds")
    return from_ff_group(sent, field="datetime")


def _box(doc: dict[str, Any]) -> Box | None:
    coords = optional(doc, "plateCoordinates", list)
    if not coords:
        return None
    if len(coords) != 4 or any(isinstance(c, bool) or not isinstance(c, int | float) for c in coords):
        raise invalid("plateCoordinates", "[left, top, width, height]")
    try:
        left, top, width, height = (float(c) for c in coords)  # an integer of 400 digits overflows
    except OverflowError:
        raise invalid("plateCoordinates", "[left, top, width, height] of finite numbers") from None
    if not all(math.isfinite(c) for c in (left, top, width, height)):  # 1e400 is read as infinity
        raise invalid("plateCoordinates", "[left, top, width, height] of finite numbers")
    return Box(x=left, y=top, width=width, height=height)
