"""Plate Recognizer Snapshot and Stream webhooks, JSON or multipart `json`+`upload` (FORMATS.md §2).

A post carries several results: one whose text cannot be stored is listed under `rejected` and the others
are kept, as in a native batch. Bad text in the fields every result shares refuses the whole post.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from libs.common.contracts.reads import Candidate, ReadImage
from libs.common.contracts.vehicles import VehicleAttribute
from libs.common.errors import InvalidInput
from libs.common.validation import check_document_text

from ..body import decode_json
from ..confidence import confidence
from ..evidence import compact, with_shared
from ..fields import invalid, number, objects, optional
from ..geometry import box_of_corners, polygon_of_box
from ..identity import body_key, read_id
from ..images import image_from_bytes
from ..payload import IngestContext, ParsedPayload, PayloadBuilder, contract_refusal
from ..plates import PlateRefused, candidate, plate_text, state_code, unique_candidates
from ..timestamps import Stamp, from_iso
from ..vehicles import Said, ranked_top, said_text, vehicle_attributes

VENDOR = "platerecognizer"


def parse(ctx: IngestContext) -> ParsedPayload:
    """One read per result; the webhook image, when attached, goes with every read as the overview."""
    body = ctx.body
    images: list[ReadImage] = []
    image_flags: list[str] = []  # the one upload goes with every read, and so does what was wrong with it
    if body.media in ("multipart", "form"):
        part = body.part("json")
        if part is None:
            raise invalid("json", "form field")
        document_bytes, doc = part.data, decode_json(part.data, check_text=False)
        upload = body.part("upload")
        image = image_from_bytes(upload.data, "overview", image_flags) if upload else None
        images = [image] if image else []
    else:
        document_bytes, doc = body.raw, body.unchecked_document
    if not isinstance(doc, dict):
        raise invalid("$", "object")
    hook = optional(doc, "hook", dict) or {}
    data = optional(doc, "data", dict, path="") if hook else doc
    if data is None:
        raise invalid("data", "object")
    shared = {k: v for k, v in data.items() if k != "results"}
    check_document_text({**doc, "data": shared} if hook else shared)
    event = "stream_webhook" if hook.get("event") == "recognition" else "snapshot_webhook" if hook else "snapshot"
    stream_camera = hook.get("id") if event == "stream_webhook" else None
    builder = PayloadBuilder(ctx, vendor=VENDOR, camera_hint=data.get("camera_id") or stream_camera)
    stamp, stamp_flags, stamp_field = _captured(ctx, data)
    sent_at = data.get("timestamp")
    key = f"{data.get('camera_id')}|{sent_at}|{data.get('filename')}" if sent_at else body_key(document_bytes)
    builder.check_shared_time(stamp.at, field=stamp_field)
    results = optional(data, "results", list, path="data") or []
    # one result keeps the post as sent; several each keep their own beside the shared fields (evidence.py)
    several = len(results) > 1
    around = with_shared({k: v for k, v in doc.items() if k != "data"}) if several and hook else {}
    within = with_shared(shared) if several else {}
    whole = None if several else builder.shared_raw_body(doc)
    for index, result in enumerate(results):
        path = f"data.results[{index}]"
        try:
            if not isinstance(result, dict):
                raise invalid(path, "object")
            check_document_text(result, path=path)
            raw_body = compact(_own(around, within, result, hooked=bool(hook))) if several else whole
            fields = _vehicle_mode(result, path) if isinstance(result.get("plate"), dict) else _classic(result, path)
            fields.update(_plate(result, path))
            builder.add(
                vendor_format=f"{VENDOR}.{event}",
                raw_body=raw_body,
                read_id=read_id(VENDOR, ctx.agency, ctx.camera_id, key, index),
                captured_at=stamp.at,
                images=images,
                flags=[*stamp_flags, *image_flags],
                **fields,
            )
        except PlateRefused as refusal:
            builder.refuse(refusal, index=index, field=f"{path}.plate")
        except InvalidInput as err:
            builder.reject(err, index=index, path=path)  # e.g. a vehicle with no plate and no image: this one only
        except ValidationError as exc:  # a contract model of this result (a Box of infinite size, say)
            builder.reject(contract_refusal(exc), index=index, path=path)
    return builder.done()


def _own(around: dict[str, Any], within: dict[str, Any], result: dict[str, Any], *, hooked: bool) -> dict[str, Any]:
    """One result in the post's shape: `{hook…, "data": {…, "results": [it]}}` or `{…, "results": [it]}`."""
    data = {**within, "results": [result]}
    return {**around, "data": data} if hooked else data


def _captured(ctx: IngestContext, data: dict[str, Any]) -> tuple[Stamp, list[str], str]:
    """The capture time every result shares, its flags, and the field it came from."""
    for key in ("timestamp", "timestamp_local"):
        sent = optional(data, key, str, path="data")
        if sent:
            stamp = from_iso(sent, field=f"data.{key}")
            return stamp, ["captured_at_zone_assumed"] if stamp.zone_assumed else [], f"data.{key}"
    return Stamp(ctx.received_at), ["captured_at_from_receipt"], "received_at"


def _plate(result: dict[str, Any], path: str) -> dict[str, Any]:
    """Plate text, score, candidates and region; type-2 results keep them under `plate.props`."""
    sent = result.get("plate")
    if isinstance(sent, dict):
        props = optional(sent, "props", dict, path=f"{path}.plate") or {}
        readings = objects(props, "plate", path=f"{path}.plate.props")
        regions = objects(props, "region", path=f"{path}.plate.props")
        if not readings:
            return {}  # a vehicle seen without a readable plate
        raw, score = readings[0].get("value"), readings[0].get("score")
        others = [candidate(r.get("value"), _score(r, path)) for r in readings]
        region = regions[0].get("value") if regions else None
    elif isinstance(sent, str):
        raw, score = sent, result.get("score")
        others = [candidate(c.get("plate"), _score(c, path)) for c in objects(result, "candidates", path=path)]
        region = (optional(result, "region", dict, path=path) or {}).get("code")
    elif sent is None:
        return {}
    else:
        raise invalid(f"{path}.plate", "string or object")
    if not isinstance(raw, str):
        raise invalid(f"{path}.plate", "string")
    text = plate_text(raw)
    conf = confidence(score, scale=1.0, field=f"{path}.score")
    # Stream candidates often lack a score; the best one is the result itself.
    best = Candidate(plate=text.plate, confidence=conf.value or 0.0)
    return {
        "plate": text.plate,
        "plate_raw": text.raw,
        "confidence": conf.value,
        "confidence_raw": conf.raw,
        "candidates": unique_candidates([best, *others]),
        "state": state_code(region, bare_is_state=False),  # bare codes here are countries (`gb`)
    }


def _score(item: dict[str, Any], path: str) -> float | None:
    return confidence(item.get("score"), scale=1.0, field=f"{path}.score").value


def _classic(result: dict[str, Any], path: str) -> dict[str, Any]:
    vehicle: dict[str, str] = {}
    sent_vehicle = optional(result, "vehicle", dict, path=path) or {}
    if sent_vehicle.get("type") and (number(sent_vehicle, "score", path=f"{path}.vehicle") or 0) > 0:
        vehicle["type"] = str(sent_vehicle["type"])
    for key, name in (("model_make", None), ("color", "color"), ("orientation", "orientation")):
        ranked = objects(result, key, path=path)
        if ranked and name:
            vehicle[name] = str(ranked[0].get(name))
        elif ranked:
            vehicle.update({k: str(ranked[0][k]) for k in ("make", "model") if ranked[0].get(k)})
    make_model = objects(result, "model_make", path=path)
    said: dict[VehicleAttribute, Said] = {
        "body_type": _type(sent_vehicle, f"{path}.vehicle"),
        "make": ranked_top(make_model, "make", "score", scale=1.0, field=f"{path}.model_make"),
        "model": ranked_top(make_model, "model", "score", scale=1.0, field=f"{path}.model_make"),
        "color": ranked_top(objects(result, "color", path=path), "color", "score", scale=1.0, field=f"{path}.color"),
    }
    return {"vehicle": vehicle, "vehicle_attributes": vehicle_attributes(said), **_box(result, path)}


def _vehicle_mode(result: dict[str, Any], path: str) -> dict[str, Any]:
    sent_vehicle = optional(result, "vehicle", dict, path=path) or {}
    props = optional(sent_vehicle, "props", dict, path=f"{path}.vehicle") or {}
    vehicle: dict[str, str] = {"type": str(sent_vehicle["type"])} if sent_vehicle.get("type") else {}
    for key in ("make_model", "orientation", "color"):
        ranked = objects(props, key, path=f"{path}.vehicle.props")
        if ranked:
            top = ranked[0]
            vehicle.update({k: str(top[k]) for k in ("make", "model", "value") if top.get(k)})
            if "value" in vehicle:
                vehicle[key] = vehicle.pop("value")
    where = f"{path}.vehicle.props"
    make_model = objects(props, "make_model", path=where)
    said: dict[VehicleAttribute, Said] = {
        "body_type": _type(sent_vehicle, f"{path}.vehicle"),
        "make": ranked_top(make_model, "make", "score", scale=1.0, field=f"{where}.make_model"),
        "model": ranked_top(make_model, "model", "score", scale=1.0, field=f"{where}.make_model"),
        "color": ranked_top(objects(props, "color", path=where), "value", "score", scale=1.0, field=f"{where}.color"),
    }
    return {
        "vehicle": vehicle,
        "vehicle_attributes": vehicle_attributes(said),
        **_box(result["plate"], f"{path}.plate"),
    }


def _type(sent_vehicle: dict[str, Any], path: str) -> Said:
    """The vehicle's type and score; a score of 0 is the vendor's "no vehicle found", so no type was seen."""
    score = confidence(sent_vehicle.get("score"), scale=1.0, field=f"{path}.score").value
    if score == 0:
        return None, None
    return said_text(sent_vehicle.get("type"), field=f"{path}.type"), score


def _box(holder: dict[str, Any], path: str) -> dict[str, Any]:
    box = optional(holder, "box", dict, path=path)
    if not box:
        return {}
    corners = [number(box, k, path=f"{path}.box") for k in ("xmin", "ymin", "xmax", "ymax")]
    if any(c is None for c in corners):
        raise invalid(f"{path}.box", "xmin, ymin, xmax, ymax")
    xmin, ymin, xmax, ymax = (float(c or 0) for c in corners)
    if not (math.isfinite(xmax - xmin) and math.isfinite(ymax - ymin)):
        raise invalid(f"{path}.box", "corners whose width and height are finite")  # -1e308..1e308
    plate_box = box_of_corners(xmin, ymin, xmax, ymax)
    return {"plate_box": plate_box, "plate_polygon": polygon_of_box(plate_box)}
