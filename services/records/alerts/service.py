"""Alert rules: which texts of a read are matched, what an alert carries, what a verification decides."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from libs.common.contracts.alerts import (
    STALE_NOTICE,
    Alert,
    AlertMessage,
    DispositionCode,
    HotlistEntrySnapshot,
    ImageRef,
    VerificationIn,
)
from libs.common.contracts.reads import ReadIn, normalize_plate
from libs.common.contracts.vehicles import VehicleAttributes
from libs.common.errors import Conflict, InvalidInput
from services.records.alerts.vehicle_check import listed_vehicle, vehicle_difference
from services.records.hotlists.matching import Hit, TextOrigin
from services.records.hotlists.service import is_stale
from services.records.hotlists.wildcards import compile_pattern
from services.records.models import Read
from services.records.service import ReadRow

_ALERT_NAMESPACE = uuid.UUID("5b0c1a52-2f7e-4f0e-9d0e-a1e7a1e7a1e7")
_VENDOR = TextOrigin.VENDOR.value  # an enum member's value looked up once, not once a read


def alert_id_for(read_id: str, listed_plate: str) -> str:
    """One alert per read and listed plate, whatever the redeliveries and however many entries list it."""
    return str(uuid.uuid5(_ALERT_NAMESPACE, f"{read_id}/plate/{listed_plate}"))


def texts_of(row: ReadRow) -> list[tuple[str, str]]:
    """The vendor's text, our reading, then every candidate: each text once, the strongest origin first."""
    read, recognition = row.read, row.recognition
    if recognition is None and not read.candidates:  # most reads: the vendor's text alone, nothing to rank
        plate = normalize_plate(read.plate) if read.plate else ""
        return [(plate, _VENDOR)] if plate else []
    ordered = [(read.plate, TextOrigin.VENDOR.value)]
    if recognition is not None:
        ordered.append((recognition.plate, TextOrigin.OURS.value))
    ordered += [(c.plate, TextOrigin.CANDIDATE.value) for c in read.candidates]
    if recognition is not None:
        ordered += [(c.plate, TextOrigin.CANDIDATE.value) for c in recognition.candidates]
    seen: set[str] = set()
    texts = []
    for raw, origin in ordered:
        plate = normalize_plate(raw) if raw else ""
        if plate and plate not in seen:
            seen.add(plate)
            texts.append((plate, origin))
    return texts


def corrected_read(version: Read) -> ReadIn:
    """A corrected version as the read its alert describes: the officer's plate and state, where and when the
    camera saw it. The vendor's confidence and candidates were for the misread text, so they are left out."""
    return ReadIn(
        read_id=str(version.read_id),
        agency=version.agency,
        camera_id=version.camera_id,
        captured_at=version.captured_at,
        plate=version.plate,
        state=version.state,
        latitude=version.latitude,
        longitude=version.longitude,
        location_from_camera=version.location_from_camera,
        heading=version.heading,
        vehicle_attributes=(
            VehicleAttributes.model_validate(version.vehicle_attributes) if version.vehicle_attributes else None
        ),
        vendor=version.vendor,
        vendor_format=version.vendor_format,
        flags=list(version.flags),
    )


def by_listed_plate(hits: list[Hit]) -> dict[str, list[Hit]]:
    """A read's hits grouped by the plate their entries list (a wildcard entry's pattern is its plate)."""
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        grouped.setdefault(hit.entry_plate, []).append(hit)
    return grouped


def build_alert(
    row: ReadRow,
    hits: list[Hit],
    entries: dict[int, dict[str, Any]],
    now: datetime,
    *,
    image_kinds: list[str] | None = None,
) -> AlertMessage:
    """E1 and E4: the read, the match, every entry listing the plate as it stands, their age and freshness.

    `hits` share one listed plate and each has its entry in `entries`. The primary entry, which the
    verification is judged against, is the highest priority (lowest number), then the earliest entered.
    `image_kinds` are the stored images' kinds where the read's images are not in hand (a corrected version).
    """
    listed = sorted(
        (entries[int(hit.entry_id)] for hit in hits),
        key=lambda entry: (entry["priority"], entry["entered_at"], entry["entry_id"]),
    )
    primary = listed[0]
    hit = next(h for h in hits if int(h.entry_id) == primary["entry_id"])
    read, recognition = row.read, row.recognition
    alert_id = alert_id_for(read.read_id, hit.entry_plate)
    stale = is_stale(primary["source"], primary["list_refreshed_at"], now)
    # the gateway serves the read's best image (the plate crop first) at one address per alert
    kinds = image_kinds if image_kinds is not None else [image.kind for image in read.images]
    best = min(kinds, key=lambda kind: kind != "plate", default=None)
    entry = HotlistEntrySnapshot.model_validate(primary)
    vehicle_note = vehicle_difference(listed_vehicle(entry), read.vehicle_attributes)
    return AlertMessage(
        alert_id=alert_id,
        raised_at=now,
        read_id=read.read_id,
        captured_at=read.captured_at,
        agency=read.agency,
        camera_id=read.camera_id,
        latitude=read.latitude,
        longitude=read.longitude,
        read_plate=read.plate,
        read_state=read.state,
        confidence=read.confidence,
        candidates=read.candidates,
        our_plate=recognition.plate if recognition else None,
        our_confidence=recognition.confidence if recognition else None,
        our_candidates=recognition.candidates if recognition else [],
        images=[ImageRef(kind=best, href=f"/v1/alerts/{alert_id}/image")] if best else [],
        match_type=hit.match_type.value,
        matched_text=hit.text,
        matched_origin=hit.origin,
        state_mismatch=hit.state_mismatch,
        entry=entry,
        entries=[HotlistEntrySnapshot.model_validate(each) for each in listed],
        entry_age_s=max((now - primary["entered_at"]).total_seconds(), 0.0),
        list_refreshed_at=primary["list_refreshed_at"],
        stale=stale,
        notice=STALE_NOTICE if stale else None,
        vehicle_differs=vehicle_note is not None,
        vehicle_note=vehicle_note,
    )


def character_mismatches(listed: str, seen: str) -> list[int]:
    """Positions where the plate the officer read off the image differs from the listed plate."""
    if "*" in listed or "?" in listed:
        # a partial plate agrees when the pattern covers what was seen; otherwise every position is suspect
        return [] if compile_pattern(listed).fullmatch(seen) else list(range(max(len(seen), 1)))
    width = max(len(listed), len(seen))
    return [i for i in range(width) if i >= len(listed) or i >= len(seen) or listed[i] != seen[i]]


def judge(
    alert: Alert,
    request: VerificationIn,
    *,
    has_image: bool,
    view_id: str | None,
    standing: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """E2: confirmed only when the officer looked at the image and characters, state and vehicle all agree.

    Without an image there is nothing to compare and the outcome is investigate_only. With one, the officer
    must have opened it through the API first (`view_id`), or the check is refused. A look-alike match, a
    stale list or an alert already investigate_only never confirms: only a supervisor's reopening undoes that.
    `standing` is the alert's entry and its list as they are `now` (None once the entry is gone): a list gone
    stale, or an entry removed or expired, since the alert was raised never confirms either (E4).
    """
    if alert.status == "closed":
        raise Conflict("the alert is already disposed of", code="alert_closed")
    seen = normalize_plate(request.plate_seen)
    if not re.fullmatch(r"[A-Z0-9]{1,15}", seen):
        raise InvalidInput("the plate seen must be the characters on the plate", code="invalid_plate_seen")
    if has_image and view_id is None:
        raise Conflict("open the alert's image and compare it with the plate before verifying", code="image_not_viewed")
    state_seen = request.state_seen.upper() if request.state_seen else None
    mismatches = character_mismatches(alert.entry.plate, seen)
    # with no state on the list there is nothing to contradict; with one, the officer must see the same
    state_agrees = alert.entry.state is None or state_seen == alert.entry.state
    found = {
        "no_image": not has_image,
        "already_investigate_only": alert.status == "investigate_only",
        "lookalike_match": alert.match_type == "lookalike",
        "stale_list": alert.stale
        or (standing is not None and is_stale(standing["source"], standing["list_refreshed_at"], now)),
        "entry_removed": standing is None or standing["removed_at"] is not None,
        "entry_expired": standing is not None and standing["expires_at"] <= now,
        "character_mismatch": bool(mismatches),
        "state_mismatch": not state_agrees,
        "vehicle_mismatch": not request.vehicle_matches,
    }
    reasons = [reason for reason, present in found.items() if present]
    return {
        "plate_seen": seen,
        "state_seen": state_seen,
        "character_mismatches": mismatches,
        "state_agrees": state_agrees,
        "outcome": "investigate_only" if reasons else "confirmed",
        "reasons": reasons,
        "image_view_id": view_id,
    }


def check_reopening(alert: Alert) -> None:
    """Only an alert left investigate_only is reopened; a closed one stays closed."""
    if alert.status == "closed":
        raise Conflict("the alert is already disposed of", code="alert_closed")
    if alert.status != "investigate_only":
        raise Conflict("only an investigate-only alert can be reopened", code="alert_not_investigate_only")


def check_disposition(alert: Alert, code: DispositionCode) -> None:
    """E3/E5: a person closes every alert; `confirmed` needs a confirming verification."""
    if alert.status == "closed":
        raise Conflict("the alert is already disposed of", code="alert_closed")
    if code == "confirmed" and alert.status != "confirmed":
        raise Conflict(
            "an alert is confirmed only after a verification in which everything agreed",
            code="confirmation_not_verified",
        )


def action_record(alert: Alert, details: dict[str, Any]) -> dict[str, Any]:
    """What a verification or disposition adds to its access record: the entry's purpose, the alert and its status."""
    return {
        "purpose": alert.entry.purpose,
        "query": {"plate": alert.entry.plate, "read_id": alert.read_id},
        "result_count": 1,
        "result_ids": [alert.alert_id],
        "details": {**details, "status": alert.status},
    }
