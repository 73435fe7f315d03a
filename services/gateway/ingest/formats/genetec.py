"""Genetec AutoVu SharpV HTTP extension reads, JSON or XML (FORMATS.md §3.1)."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from libs.common.contracts.vehicles import VehicleAttributes

from ..confidence import confidence
from ..fields import invalid, number, objects, optional, required
from ..identity import body_key, read_id
from ..images import image_from_base64
from ..payload import IngestContext, ParsedPayload, PayloadBuilder
from ..plates import PlateRefused, plate_text, state_code
from ..positions import position
from ..timestamps import from_iso
from ..vehicles import said_text, vehicle_attributes
from ..xmldoc import child, children, local_name, text

VENDOR = "genetec"
_EMPTY = "-"  # Genetec writes "-" for an analytic it has no value for


def parse(ctx: IngestContext) -> ParsedPayload:
    """One SharpV read per post; the XML form is mapped onto the JSON field names first."""
    if ctx.body.media == "xml":
        doc, vendor_format = _from_xml(ctx.body.xml_root), f"{VENDOR}.sharpv_xml"
    else:
        doc, vendor_format = ctx.body.document, f"{VENDOR}.sharpv_json"
    if not isinstance(doc, dict):
        raise invalid("$", "object")
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=doc.get("SourceUrl") or doc.get("LprCameraName"))
    analytics = {
        str(a.get("Key")): a.get("Value")
        for a in objects(doc, "PlateAnalytics")
        if a.get("Value") not in (None, "", _EMPTY)
    }
    try:
        plate = plate_text(required(doc, "PlateRead", str))
    except PlateRefused as refusal:
        builder.refuse(refusal, index=0)
        return builder.done()
    stamp = from_iso(required(doc, "Timestamp", str), field="Timestamp")
    flags = ["captured_at_zone_assumed"] if stamp.zone_assumed else []
    conf = confidence(analytics.get("Confidence Score"), scale=100.0, field="PlateAnalytics.Confidence Score")
    lat, lon = position(number(doc, "Latitude"), number(doc, "Longitude"), flags)
    images = [
        image_from_base64(doc.get("PlateImage"), "plate", flags),
        image_from_base64(doc.get("ContextImage"), "overview", flags),
    ]
    vehicle = {"type": str(analytics["Vehicle Type"])} if "Vehicle Type" in analytics else {}
    builder.add(
        vendor_format=vendor_format,
        read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, optional(doc, "Id", str) or body_key(ctx.body.raw), 0),
        captured_at=stamp.at,
        plate=plate.plate,
        plate_raw=plate.raw,
        state=state_code(analytics.get("State Name"), bare_is_state=True),
        confidence=conf.value,
        confidence_raw=conf.raw,
        latitude=lat,
        longitude=lon,
        vehicle=vehicle,
        vehicle_attributes=_attributes(doc, analytics),
        images=[i for i in images if i],
        flags=flags,
    )
    return builder.done()


def _attributes(doc: dict[str, Any], analytics: dict[str, Any]) -> VehicleAttributes | None:
    """SharpV's `Vehicle Type` as a body type; its Score is a fraction, -1 when the unit gives none."""
    if "Vehicle Type" not in analytics:
        return None
    sent = next(a for a in objects(doc, "PlateAnalytics") if str(a.get("Key")) == "Vehicle Type")
    score = confidence(sent.get("Score"), scale=1.0, field="PlateAnalytics.Vehicle Type.Score").value
    said = said_text(analytics["Vehicle Type"], field="PlateAnalytics.Vehicle Type.Value")
    return vehicle_attributes({"body_type": (said, score)})


def _from_xml(root: Element) -> dict[str, Any]:
    if local_name(root.tag) != "Plate":
        raise invalid("Plate", "XML root element")
    doc: dict[str, Any] = {
        local_name(e.tag): (e.text or "").strip() for e in root if local_name(e.tag) != "PlateAnalytics"
    }
    doc["PlateAnalytics"] = [
        {"Key": text(a, "Key"), "Score": text(a, "Score"), "Value": text(a, "Value")}
        for a in children(child(root, "PlateAnalytics"), "PlateAnalytics")
    ]
    return {k: v for k, v in doc.items() if v != ""}
