"""Verkada LPR notification webhooks (FORMATS.md §7)."""

from __future__ import annotations

from ..confidence import confidence
from ..fields import invalid, optional, required
from ..identity import read_id
from ..payload import IngestContext, ParsedPayload, PayloadBuilder
from ..plates import PlateRefused, plate_text, state_code
from ..timestamps import from_epoch

VENDOR = "verkada"


def parse(ctx: IngestContext) -> ParsedPayload:
    """One read per notification; `crop` (normalised, order undocumented) stays in the raw body only."""
    doc = ctx.body.document
    if not isinstance(doc, dict):
        raise invalid("$", "object")
    if doc.get("webhook_type") != "lpr":
        raise invalid("webhook_type", '"lpr"')
    data = required(doc, "data", dict)
    camera = required(data, "camera_id", str, path="data")
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=camera)
    try:
        plate = plate_text(required(data, "license_plate_number", str, path="data"))
    except PlateRefused as refusal:
        builder.refuse(refusal, index=0)
        return builder.done()
    # `detected` (ms, newer) is the capture; `created` (s) is when Verkada made the record.
    for key in ("detected", "created"):
        sent = data.get(key)
        if sent is not None:
            captured = from_epoch(sent, field=f"data.{key}")
            break
    else:
        captured = from_epoch(required(doc, "created_at", int), field="created_at")
    conf = confidence(data.get("confidence"), scale=1.0, field="data.confidence")
    source_time = data.get("detected", data.get("created", doc.get("created_at")))
    builder.add(
        vendor_format=f"{VENDOR}.lpr_webhook",
        read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, f"{camera}|{source_time}|{plate.raw}", 0),
        captured_at=captured.at,
        plate=plate.plate,
        plate_raw=plate.raw,
        state=state_code(optional(data, "license_plate_state", str, path="data"), bare_is_state=True),
        confidence=conf.value,
        confidence_raw=conf.raw,
    )
    return builder.done()
