"""Legal-hold rules (B2): what a hold must name, who may approve it, when it may change."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from libs.common.contracts.holds import HoldCreate, HoldSelection, HoldView
from libs.common.contracts.reads import normalize_plate
from libs.common.errors import Conflict, Forbidden, InvalidInput

MIN_JUSTIFICATION = 30
MAX_REVIEW_DAYS = 365  # a hold is reviewed at least yearly, or it lapses


def check_new_hold(hold: HoldCreate, today: date) -> str | None:
    """A hold names a case, a justification of reasonable suspicion, a review date and its reads."""
    if not hold.case_number.strip():
        raise InvalidInput("a hold needs a case number", code="hold_case_required")
    if len(hold.justification.strip()) < MIN_JUSTIFICATION:
        raise InvalidInput(
            f"the justification of reasonable suspicion needs at least {MIN_JUSTIFICATION} characters",
            code="hold_justification_too_short",
        )
    if not today < hold.review_date <= today + timedelta(days=MAX_REVIEW_DAYS):
        raise InvalidInput(
            f"the review date must fall within the next {MAX_REVIEW_DAYS} days", code="hold_review_date_invalid"
        )
    s = hold.selection
    for read_id in s.read_ids:
        try:
            uuid.UUID(read_id)
        except ValueError as exc:
            raise InvalidInput("a read id is not valid", code="hold_read_id_invalid") from exc
    if s.plate:
        if s.since is None or s.until is None or s.since >= s.until:
            raise InvalidInput("a plate hold needs a time window", code="hold_window_required")
        return normalize_plate(s.plate)
    if not s.read_ids:
        raise InvalidInput("a hold names reads, or a plate and a window", code="hold_selection_required")
    return None


def check_decision(hold: dict[str, Any], approver_sub: str) -> None:
    """Two people: the approving supervisor is never the requester; only a pending hold is decided."""
    if hold["requester_sub"] == approver_sub:
        raise Forbidden("a hold is approved by a supervisor other than its requester", code="hold_same_person")
    if hold["status"] != "pending":
        raise Conflict("this hold is not awaiting a decision", code="hold_not_pending")


def check_end(hold: dict[str, Any]) -> None:
    if hold["status"] not in ("pending", "active"):
        raise Conflict("this hold has already ended", code="hold_already_ended")


def hold_view(row: dict[str, Any]) -> HoldView:
    selection = HoldSelection(
        read_ids=list(row["read_ids"] or []), plate=row["plate"], since=row["window_since"], until=row["window_until"]
    )
    fields = {k: v for k, v in row.items() if k not in ("read_ids", "plate", "window_since", "window_until")}
    return HoldView(selection=selection, **fields)


def hold_record(view: HoldView) -> dict[str, Any]:
    """What a hold change adds to its access record: the hold, its reads and where it now stands."""
    return {
        "query": {"hold_id": view.hold_id, "plate": view.selection.plate, "case_number": view.case_number},
        "result_count": len(view.selection.read_ids),
        "result_ids": view.selection.read_ids,
        "details": {"status": view.status, "review_date": view.review_date.isoformat()},
    }
