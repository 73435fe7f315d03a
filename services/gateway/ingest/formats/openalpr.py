"""OpenALPR / Rekor Scout agent and webhook bodies (FORMATS.md §1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from libs.common.contracts.reads import Candidate, Point
from libs.common.contracts.vehicles import VehicleAttribute, VehicleAttributes
from libs.common.errors import InvalidInput
from libs.common.validation import check_document_text

from ..confidence import confidence
from ..evidence import compact, with_shared
from ..fields import invalid, number, objects, optional, required
from ..geometry import box_of_polygon
from ..identity import body_key, read_id
from ..images import image_from_base64
from ..payload import IngestContext, ParsedPayload, PayloadBuilder, contract_refusal
from ..plates import PlateRefused, candidate, plate_text, state_code, unique_candidates
from ..positions import position
from ..timestamps import from_epoch
from ..vehicles import ranked_top, vehicle_attributes

VENDOR = "openalpr"
_PERCENT = 100.0


def parse(ctx: IngestContext) -> ParsedPayload:
    """Dispatch on `data_type`; the Rekor test button and heartbeats carry no reads.

    An `alpr_results` post carries several reads: a result whose text cannot be stored is listed under
    `rejected` and the others are kept, as in a native batch. Every other post is one read, refused whole.
    """
    doc = ctx.body.unchecked_document
    if not isinstance(doc, dict):
        raise invalid("$", "object")
    if doc.get("data_type") == "alpr_results":
        return _results(ctx, doc)
    check_document_text(doc)
    if doc.get("openalpr_webhook") == "test":
        return PayloadBuilder(ctx, vendor=VENDOR).done("test")
    data_type = doc.get("data_type")
    if data_type is None and isinstance(doc.get("group"), dict):
        data_type = "alpr_alert"  # Rekor alert envelopes sometimes arrive with data_type null
    if data_type == "heartbeat":
        return PayloadBuilder(ctx, vendor=VENDOR).done("heartbeat")
    if data_type in ("alpr_group", "vehicle"):
        builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=doc.get("camera_id"))
        version = doc.get("version", 1)
        _group(builder, doc, vendor_format=f"{VENDOR}.{data_type}.v{version}", with_plate=data_type != "vehicle")
        return builder.done()
    if data_type == "alpr_alert":
        group = required(doc, "group", dict)
        builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=doc.get("camera_number", group.get("camera_id")))
        # Same read id as the group post it matched, so the alert and the group store one read.
        _group(builder, group, vendor_format=f"{VENDOR}.alpr_alert", path="group", flags=["vendor_alert"])
        return builder.done()
    raise invalid("data_type", "one of alpr_results, alpr_group, alpr_alert, vehicle, heartbeat")


def _results(ctx: IngestContext, doc: dict[str, Any]) -> ParsedPayload:
    # The agent's own fields are shared by every result: bad text there refuses the whole post.
    check_document_text({k: v for k, v in doc.items() if k != "results"})
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=doc.get("camera_id"))
    captured = from_epoch(required(doc, "epoch_time", int), field="epoch_time")
    builder.check_shared_time(captured.at, field="epoch_time")
    # The CLI sends no uuid: only an identical body maps to the same ids then.
    key = optional(doc, "uuid", str) or body_key(ctx.body.raw)
    results = optional(doc, "results", list) or []
    # one result keeps the post as sent; several each keep their own (evidence.py)
    shared = with_shared({k: v for k, v in doc.items() if k != "results"}) if len(results) > 1 else None
    whole = builder.shared_raw_body(doc) if shared is None else None
    for index, result in enumerate(results):
        path = f"results[{index}]"
        try:
            if not isinstance(result, dict):
                raise invalid(path, "object")
            check_document_text(result, path=path)
            raw_body = whole if shared is None else compact({**shared, "results": [result]})
            _result(builder, result, path=path, index=index, key=key, captured=captured.at, raw_body=raw_body)
        except PlateRefused as refusal:
            builder.refuse(refusal, index=index, field=f"{path}.plate")
        except InvalidInput as err:
            builder.reject(err, index=index, path=path)
        except ValidationError as exc:  # a contract model of this result (a Box of infinite size, say)
            builder.reject(contract_refusal(exc), index=index, path=path)
    return builder.done()


def _result(
    builder: PayloadBuilder,
    result: dict[str, Any],
    *,
    path: str,
    index: int,
    key: str,
    captured: datetime,
    raw_body: str | None,
) -> None:
    ctx = builder.ctx
    plate_index = optional(result, "plate_index", int, path=path)
    text = plate_text(required(result, "plate", str, path=path))
    flags: list[str] = []
    polygon = _polygon(result, path)
    conf = confidence(result.get("confidence"), scale=_PERCENT, field=f"{path}.confidence")
    builder.add(
        vendor_format=f"{VENDOR}.alpr_results",
        raw_body=raw_body,
        id_field=f"{path}.plate_index" if plate_index is not None else "read_id",
        read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, key, index if plate_index is None else plate_index),
        captured_at=captured,
        plate=text.plate,
        plate_raw=text.raw,
        state=state_code(result.get("region"), bare_is_state=True),
        confidence=conf.value,
        confidence_raw=conf.raw,
        candidates=_candidates(result, path),
        plate_polygon=polygon,
        plate_box=box_of_polygon(polygon) if polygon else None,
        images=[i for i in [image_from_base64(result.get("plate_crop_jpeg"), "plate", flags)] if i],
        flags=flags,
    )


def _group(
    builder: PayloadBuilder,
    group: dict[str, Any],
    *,
    vendor_format: str,
    path: str = "",
    flags: list[str] | None = None,
    with_plate: bool = True,
) -> None:
    """One read per group; a preview and its final share the group key, the id differs in the stage part."""
    ctx = builder.ctx
    flags = list(flags or [])
    prefix = f"{path}." if path else ""
    uuids = optional(group, "uuids", list, path=path) or []
    key = next((u for u in uuids if isinstance(u, str)), None) or optional(group, "best_uuid", str, path=path)
    key = key or body_key(ctx.body.raw)
    indexes = optional(group, "plate_indexes", list, path=path) or [0]
    is_preview = optional(group, "is_preview", bool, path=path)
    stage = "preview" if is_preview else "final"
    this_id = read_id(VENDOR, ctx.agency, ctx.camera_id, key, indexes[0], stage)
    if is_preview:
        flags.append("vendor_preview")
    elif is_preview is False:
        builder.payload.replaces_preview.append(read_id(VENDOR, ctx.agency, ctx.camera_id, key, indexes[0], "preview"))
    started = optional(group, "epoch_start", int, path=path) or optional(group, "best_uuid_epoch_ms", int, path=path)
    if started is None:
        raise invalid(f"{prefix}epoch_start", "int")
    images = [
        image_from_base64(group.get("vehicle_crop_jpeg"), "vehicle", flags),
        image_from_base64(group.get("overview_jpeg"), "overview", flags),
    ]
    lat, lon = position(number(group, "gps_latitude", path=path), number(group, "gps_longitude", path=path), flags)
    sent_vehicle = optional(group, "vehicle", dict, path=path) or {}
    fields: dict[str, Any] = {
        "read_id": this_id,
        "captured_at": from_epoch(started, field=f"{prefix}epoch_start").at,
        "latitude": lat,
        "longitude": lon,
        "vehicle": _vehicle(sent_vehicle),
        "vehicle_attributes": _attributes(sent_vehicle, f"{prefix}vehicle"),
        "flags": flags,
    }
    if not with_plate:
        builder.add(vendor_format=vendor_format, images=[i for i in images if i], **fields)
        return
    best = required(group, "best_plate", dict, path=path)
    best_path = f"{prefix}best_plate"
    sent_plate = optional(group, "best_plate_number", str, path=path) or required(best, "plate", str, path=best_path)
    try:
        text = plate_text(sent_plate)
    except PlateRefused as refusal:
        builder.refuse(refusal, index=0)
        return
    images.insert(0, image_from_base64(best.get("plate_crop_jpeg"), "plate", flags))
    conf_sent = group.get("best_confidence", best.get("confidence"))
    conf = confidence(conf_sent, scale=_PERCENT, field=f"{prefix}best_confidence")
    polygon = _polygon(best, best_path)
    group_candidates = group if "candidates" in group else best
    builder.add(
        vendor_format=vendor_format,
        plate=text.plate,
        plate_raw=text.raw,
        state=state_code(group.get("best_region", best.get("region")), bare_is_state=True),
        confidence=conf.value,
        confidence_raw=conf.raw,
        candidates=_candidates(group_candidates, path if group_candidates is group else best_path),
        plate_polygon=polygon,
        plate_box=box_of_polygon(polygon) if polygon else None,
        images=[i for i in images if i],
        **fields,
    )


def _candidates(holder: dict[str, Any], path: str) -> list[Candidate]:
    items = objects(holder, "candidates", path=path)
    scores = [confidence(c.get("confidence"), scale=_PERCENT, field=f"{path}.candidates").value for c in items]
    return unique_candidates([candidate(c.get("plate"), s) for c, s in zip(items, scores, strict=True)])


def _polygon(plate: dict[str, Any], path: str) -> list[Point] | None:
    corners = objects(plate, "coordinates", path=path)
    if len(corners) != 4:
        return None
    field = f"{path}.coordinates"
    return [Point(x=_coord(c, "x", field), y=_coord(c, "y", field)) for c in corners]


def _coord(corner: dict[str, Any], axis: str, path: str) -> float:
    value = number(corner, axis, path=path)
    if value is None:
        raise invalid(f"{path}.{axis}", "number")
    return value


def _vehicle(attributes: dict[str, Any]) -> dict[str, str]:
    """Top-ranked name per attribute (`make`, `color`, `body_type`…), as the agent named it."""
    top: dict[str, str] = {}
    for key, ranked in attributes.items():
        if isinstance(ranked, list) and ranked and isinstance(ranked[0], dict) and ranked[0].get("name") is not None:
            top[key] = str(ranked[0]["name"])
    return top


# OpenALPR's attribute lists by the taxonomy's names; `orientation` says where the car faces, not what it is
_ATTRIBUTE_KEYS: dict[VehicleAttribute, str] = {
    "make": "make",
    "model": "make_model",
    "color": "color",
    "body_type": "body_type",
    "year": "year",
}


def _attributes(sent: dict[str, Any], path: str) -> VehicleAttributes | None:
    """The top-ranked name of each attribute in the shared taxonomy, its confidence (percent) scaled to 0-1."""
    said = {
        name: ranked_top(objects(sent, key, path=path), "name", "confidence", scale=100.0, field=f"{path}.{key}")
        for name, key in _ATTRIBUTE_KEYS.items()
    }
    return vehicle_attributes(said)
