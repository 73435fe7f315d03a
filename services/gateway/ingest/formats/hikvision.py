"""Hikvision ISAPI EventNotificationAlert (ANPR), multipart with pictures or bare XML (FORMATS.md §4)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from xml.etree.ElementTree import Element

from libs.common.contracts.reads import Box, ImageKind, ReadImage
from libs.common.contracts.vehicles import VehicleAttribute, VehicleAttributes

from ..body import decode_xml
from ..confidence import confidence
from ..fields import invalid
from ..formdata import FormPart
from ..geometry import polygon_of_box
from ..identity import read_id
from ..images import READ_IMAGES_MAX, image_from_bytes, too_many_images
from ..payload import IngestContext, ParsedPayload, PayloadBuilder
from ..plates import PlateRefused, plate_text
from ..positions import from_dms, position
from ..timestamps import from_compact, from_iso
from ..vehicles import Said, vehicle_attributes
from ..xmldoc import child, children, local_name, text

VENDOR = "hikvision"
_NO_PLATE = {"unknown", "无车牌"}  # what cameras write when they saw a vehicle but read no plate


def parse(ctx: IngestContext) -> ParsedPayload:
    """One read per ANPR event; other event types (the `videoloss` keep-alive) are heartbeats."""
    images: list[ReadImage] = []
    flags: list[str] = []
    if ctx.body.media in ("multipart", "form"):
        part = ctx.body.part("anpr.xml") or next((p for p in ctx.body.parts if _is_xml(p)), None)
        if part is None:
            raise invalid("anpr.xml", "multipart part")
        root, vendor_format = decode_xml(part.data), f"{VENDOR}.anpr_multipart"
        pictures = sum(1 for other in ctx.body.parts if other is not part and other.data)
        if pictures > READ_IMAGES_MAX:  # before any is decoded
            raise too_many_images("images", pictures)
        for other in ctx.body.parts:
            image = None if other is part else image_from_bytes(other.data, _image_kind(other), flags)
            if image:
                images.append(image)
    else:
        root, vendor_format = ctx.body.xml_root, f"{VENDOR}.anpr_xml"
    if local_name(root.tag) != "EventNotificationAlert":
        raise invalid("EventNotificationAlert", "XML root element")
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=text(root, "macAddress") or text(root, "ipAddress"))
    anpr = child(root, "ANPR")
    if anpr is None:
        return builder.done("heartbeat" if text(root, "eventType") == "videoloss" else "empty")
    sent_plate = text(anpr, "licensePlate") or text(anpr, "originalLicensePlate") or ""
    plate_fields: dict[str, Any] = {}
    if sent_plate.lower() not in _NO_PLATE:
        try:
            plate = plate_text(sent_plate)
        except PlateRefused as refusal:
            builder.refuse(refusal, index=0)
            return builder.done()
        conf = confidence(text(anpr, "confidenceLevel"), scale=100.0, field="ANPR.confidenceLevel")
        plate_fields = {
            "plate": plate.plate,
            "plate_raw": plate.raw,
            "confidence": conf.value,
            "confidence_raw": conf.raw,
        }
    if text(root, "isDataRetransmission") == "true" or _resent(text(root, "activePostCount")):
        flags.append("vendor_resend")
    stamp_text = text(root, "dateTime")
    if stamp_text is None:
        raise invalid("dateTime", "ISO 8601 time")
    stamp = from_iso(stamp_text, field="dateTime")
    box = _plate_box(root, anpr, flags)
    lat, lon = _position(root, flags)
    device = text(root, "macAddress") or text(root, "ipAddress")
    key = text(root, "UUID") or f"{device}|{text(root, 'channelID')}|{stamp_text}|{sent_plate}"
    builder.add(
        vendor_format=vendor_format,
        read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, key, 0),
        captured_at=_picture_time(anpr, datetime.fromisoformat(stamp_text).tzinfo or UTC) or stamp.at,
        latitude=lat,
        longitude=lon,
        plate_box=box,
        plate_polygon=polygon_of_box(box) if box else None,
        vehicle=_vehicle(anpr),
        vehicle_attributes=_attributes(anpr),
        images=images,
        flags=flags + (["captured_at_zone_assumed"] if stamp.zone_assumed else []),
        **plate_fields,
    )
    return builder.done()


def _resent(posts: str | None) -> bool:
    """`activePostCount` above 1: the camera is posting the event again. Judged on ASCII digits without int():
    `²` passes isdigit() and int() refuses it, and int() refuses thousands of digits."""
    digits = (posts or "").strip()
    return digits.isascii() and digits.isdigit() and digits.lstrip("0") not in ("", "1")


def _picture_time(anpr: Element, zone: tzinfo) -> datetime | None:
    """`absTime` has milliseconds but no zone; it is in the camera's zone, which `dateTime` carries."""
    pictures = children(child(anpr, "pictureInfoList"), "pictureInfo")
    sent = next((t for p in pictures if (t := text(p, "absTime"))), None)
    if sent is None:
        return None
    return from_compact(sent, field="pictureInfo.absTime", zone=zone).at


def _plate_box(root: Element, anpr: Element, flags: list[str]) -> Box | None:
    pictures = children(child(anpr, "pictureInfoList"), "pictureInfo")
    rect = next((r for p in pictures if (r := child(p, "plateRect")) is not None), None)
    if rect is None:
        return None
    try:
        box = Box(**{k: float(text(rect, n) or "nan") for k, n in _RECT.items()})
        frame = child(root, "detectionBackgroundImageResolution")
        width, height = float(text(frame, "width") or "inf"), float(text(frame, "height") or "inf")
    except ValueError:
        raise invalid("plateRect", "numbers X, Y, width, height") from None
    # The unit is not documented; a box that does not fit the frame is not trusted as pixels.
    if not (0 <= box.x and 0 <= box.y and box.x + box.width <= width and box.y + box.height <= height):
        flags.append("plate_box_untrusted")
        return None
    return box


_RECT = {"x": "X", "y": "Y", "width": "width", "height": "height"}


def _position(root: Element, flags: list[str]) -> tuple[float | None, float | None]:
    gps = child(root, "DeviceGPSInfo")
    if gps is None:
        return None, None
    try:
        lat = _dms(gps, "Latitude", "latitudeType")
        lon = _dms(gps, "Longitude", "longitudeType")
    except ValueError:
        raise invalid("DeviceGPSInfo", "degrees, minutes, seconds") from None
    return position(lat, lon, flags)


def _dms(gps: Element, axis: str, hemisphere: str) -> float:
    degree, minute, second = (float(text(gps, axis, unit) or 0) for unit in ("degree", "minute", "sec"))
    return from_dms(degree, minute, second, text(gps, hemisphere))


def _vehicle(anpr: Element) -> dict[str, str]:
    found = {
        "type": text(anpr, "vehicleType"),
        "color": text(anpr, "vehicleInfo", "color"),
        "plate_color": text(anpr, "plateColor"),
        "make_code": text(anpr, "vehicleInfo", "vehicleLogoRecog"),
    }
    return {k: v for k, v in found.items() if v and v != "unknown"}


def _attributes(anpr: Element) -> VehicleAttributes | None:
    """Type, colour and logo in the shared taxonomy; Hikvision gives no confidence, and its logo is a numeric
    code whose table we do not hold, so the make stays raw (`1036`) rather than be guessed."""
    said: dict[VehicleAttribute, Said] = {
        "body_type": (text(anpr, "vehicleType"), None),
        "color": (text(anpr, "vehicleInfo", "color"), None),
        "make": (text(anpr, "vehicleInfo", "vehicleLogoRecog"), None),
    }
    return vehicle_attributes({k: v for k, v in said.items() if v[0] not in (None, "unknown", "0")})


def _image_kind(part: FormPart) -> ImageKind:
    """`licensePlatePicture.jpg` is the plate crop; `detectionPicture.jpg` and others are the scene."""
    lowered = (part.filename or part.name).lower()
    return "plate" if "plate" in lowered else "vehicle" if "vehicle" in lowered else "overview"


def _is_xml(part: FormPart) -> bool:
    """Firmwares that do not call the event part `anpr.xml` still label it as XML."""
    return "xml" in (part.content_type or "").lower() or (part.filename or part.name).lower().endswith(".xml")
