"""Our own read format: one read object, or `{"reads": [...]}` of at most 1000."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from libs.common.contracts.reads import ReadImage
from libs.common.errors import InvalidInput
from libs.common.validation import check_document_text

from ..confidence import confidence
from ..fields import invalid, number, objects, optional, required
from ..identity import read_id
from ..images import READ_IMAGES_MAX, image_from_base64, too_many_images
from ..payload import IngestContext, ParsedPayload, PayloadBuilder, contract_refusal
from ..plates import PlateRefused, plate_text, state_code
from ..timestamps import from_any

VENDOR = "native"
BATCH_MAX = 1000
_IMAGE_KINDS = ("plate", "vehicle", "overview")
# json.dumps with separators builds an encoder per call: one read's raw_body cost 3.1 -> 2.3 us
_RAW_BODY = json.JSONEncoder(separators=(",", ":"))


def parse(ctx: IngestContext) -> ParsedPayload:
    """A single read is refused outright (4xx naming the field); a batch lists refused reads and keeps the rest."""
    doc = ctx.body.unchecked_document
    if not isinstance(doc, dict):
        raise invalid("$", "object")
    if "reads" not in doc:
        if not _printable_as_sent(ctx):
            check_document_text(doc)
        builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=doc.get("camera_id"))
        try:
            _add(builder, doc, path="", raw_body=ctx.body.text)
        except PlateRefused as refusal:
            raise InvalidInput(
                "plate cannot be stored", code="invalid_plate", field="plate", reason=refusal.reason
            ) from None
        return builder.done()
    items = required(doc, "reads", list)
    if len(items) > BATCH_MAX:
        raise InvalidInput(
            f"at most {BATCH_MAX} reads per batch", code="batch_too_large", limit=BATCH_MAX, got=len(items)
        )
    check_document_text({k: v for k, v in doc.items() if k != "reads"})
    hints = {str(i["camera_id"]) for i in items if isinstance(i, dict) and i.get("camera_id") is not None}
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=hints.pop() if len(hints) == 1 else None)
    printable = _printable_as_sent(ctx)
    for index, item in enumerate(items):
        path = f"reads[{index}]"
        try:
            if not isinstance(item, dict):
                raise invalid(path, "object")
            if not printable:
                check_document_text(item, path=path)
            # Each read keeps its own object, not the whole batch: storage would grow with the square.
            _add(builder, item, path=path, raw_body=_RAW_BODY.encode(item))
        except PlateRefused as refusal:
            builder.refuse(refusal, index=index, field=f"{path}.plate")
        except InvalidInput as err:
            builder.reject(err, index=index, path=path)
        except ValidationError as exc:  # a contract model of this read built outside the builder
            builder.reject(contract_refusal(exc), index=index, path=path)
    return builder.done()


def _printable_as_sent(ctx: IngestContext) -> bool:
    """Whether every string of the JSON body is printable, decided on its text in one C scan.

    With no backslash no escape can put a character in a string that the text lacks, so each string and key
    is a piece of a printable text and the per-read check could find nothing (1.2 us a read). A body with
    escapes, a BOM or line breaks between its values is checked read by read, naming the refused read.
    """
    if ctx.body.media != "json":
        return False  # its `text` would be base64, not what the document was decoded from
    text = ctx.body.text
    return "\\" not in text and text.isprintable()


def _add(builder: PayloadBuilder, item: dict[str, Any], *, path: str, raw_body: str) -> None:
    ctx = builder.ctx

    def field(name: str) -> str:
        return f"{path}.{name}" if path else name

    sent_plate = required(item, "plate", str, path=path)
    stamp = from_any(item.get("captured_at"), field=field("captured_at"))
    plate = plate_text(sent_plate)
    lat, lon = number(item, "latitude", path=path), number(item, "longitude", path=path)
    if (lat is None) != (lon is None) or (lat is not None and not -90 <= lat <= 90):
        raise invalid(field("latitude"), "latitude in -90..90 with a longitude")
    if lon is not None and not -180 <= lon <= 180:
        raise invalid(field("longitude"), "longitude in -180..180")
    sent_conf = number(item, "confidence", path=path)
    if sent_conf is not None and not 0 <= sent_conf <= 1:
        raise invalid(field("confidence"), "number in 0..1")
    conf = confidence(item.get("confidence"), scale=1.0, field=field("confidence"))
    sent_state = optional(item, "state", str, path=path)
    state = state_code(sent_state, bare_is_state=True)
    if sent_state and state is None:
        raise invalid(field("state"), "two-letter state code or us-xx")
    flags = ["captured_at_zone_assumed"] if stamp.zone_assumed else []
    camera_hint = item.get("camera_id")
    own_id = optional(item, "read_id", str, path=path)
    # Client ids are scoped to agency and camera so one sender cannot collide with another's reads.
    source = f"id:{own_id}" if own_id else f"{camera_hint}|{stamp.at.isoformat()}|{plate.plate}"
    images = _images(item, path, flags)
    # empty and absent fields left to ReadIn's defaults: each one passed runs its validator (0.6 us a read)
    given: dict[str, Any] = {}
    if state is not None:
        given["state"] = state
    if images:
        given["images"] = images
    if flags:
        given["flags"] = flags
    builder.add(
        vendor_format=VENDOR,
        raw_body=raw_body,
        id_field=field("read_id") if own_id else "read_id",
        read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, source),
        captured_at=stamp.at,
        plate=plate.plate,
        plate_raw=plate.raw,
        confidence=conf.value,
        confidence_raw=conf.raw,
        latitude=lat,
        longitude=lon,
        **given,
    )


def _images(item: dict[str, Any], path: str, flags: list[str]) -> list[ReadImage]:
    images: list[ReadImage] = []
    listed = objects(item, "images", path=path)
    if len(listed) > READ_IMAGES_MAX:  # before any is decoded: ten thousand tiny ones cost the event loop
        raise too_many_images(f"{path}.images" if path else "images", len(listed))
    for index, sent in enumerate(listed):
        where = f"{path}.images[{index}]" if path else f"images[{index}]"
        kind = sent.get("kind")
        if kind not in _IMAGE_KINDS:
            raise invalid(f"{where}.kind", "one of plate, vehicle, overview")
        image = image_from_base64(required(sent, "data_b64", str, path=where), kind, flags)
        if image:
            images.append(image)
    return images
