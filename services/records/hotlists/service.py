"""Hotlist rules: staleness, manual and partner entries, and what an import changes. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from libs.common.contracts.hotlists import (
    PARTNER_WILDCARD_MIN_KNOWN,
    PARTNER_WILDCARDS_MAX,
    HotlistSummary,
    ImportResult,
    ManualEntryIn,
    PartnerEntryIn,
    RefusedEntry,
)
from libs.common.contracts.reads import normalize_plate
from libs.common.contracts.search import known_characters
from libs.common.errors import InvalidInput
from libs.common.validation import DEFAULT_CLOCK_SKEW_S
from services.records.hotlists.delta import EntryKey, additions_and_removals, entry_key, replacement_delta
from services.records.hotlists.entries import (
    DEFAULT_EXPIRY_POLICY,
    ExpiryPolicy,
    HotlistEntryIn,
    HotlistSource,
    compute_expiry,
)
from services.records.hotlists.importers import ImportReport

STALE_AFTER = timedelta(hours=24)  # E4 and the policy's 24-hour refresh rule for shared lists


def is_stale(source: str, refreshed_at: datetime | None, now: datetime) -> bool:
    """A fed list (state, NCIC, partner) not refreshed within 24 hours; manual lists live by B4 instead."""
    if source == HotlistSource.MANUAL:
        return False
    return refreshed_at is None or now - refreshed_at > STALE_AFTER


def summary(row: dict[str, Any], now: datetime) -> HotlistSummary:
    """The contract form of a list row."""
    return HotlistSummary.model_validate({**row, "stale": is_stale(row["source"], row["refreshed_at"], now)})


def manual_entry(request: ManualEntryIn, now: datetime, policy: ExpiryPolicy = DEFAULT_EXPIRY_POLICY) -> HotlistEntryIn:
    """An admin's entry, expiring at the requested time or 30 days after entry, whichever is first (B4)."""
    expires = compute_expiry(
        HotlistSource.MANUAL, entered_at=now, refreshed_at=now, requested=request.expires_at, policy=policy
    )
    if expires <= now:
        raise InvalidInput("the entry would expire before it is entered", code="entry_already_expired")
    fields = request.model_dump(exclude={"hotlist_id", "plate", "state", "expires_at", "entered_by"})
    try:
        return HotlistEntryIn(
            source=HotlistSource.MANUAL,
            plate=normalize_plate(request.plate),
            state=request.state.upper() if request.state else None,
            entered_at=now,
            refreshed_at=now,
            expires_at=expires,
            requested_expires_at=request.expires_at,
            **fields,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", code="invalid_entry") from None


def expiry_report(entry: HotlistEntryIn) -> dict[str, Any]:
    """Whether a requested expiry was cut to its source's ceiling, said in the reply and kept in the record."""
    return {"expiry_clamped": entry.expiry_clamped, "requested_expires_at": entry.requested_expires_at}


def clamped_lines(report: ImportReport) -> list[int]:
    """The lines of a manual list whose asked expiry was cut to 30 days (B4); a feed's cut is its routine."""
    return [
        line.line_no
        for line in report.accepted
        if line.entry.source is HotlistSource.MANUAL and line.entry.expiry_clamped
    ]


def partner_entries(
    entries: list[PartnerEntryIn], now: datetime | None = None
) -> tuple[ImportReport, list[RefusedEntry]]:
    """A partner's list as an import report; each entry expires 24 hours after its refresh (C5).

    A short or surplus wildcard, a repeat or a future entry: sharing refuses the whole list at the door for
    each, and records checks again, as depth.
    """
    now = now or datetime.now(UTC)
    report = ImportReport(None)
    refused: list[RefusedEntry] = []
    first_at: dict[EntryKey, int] = {}
    for index, item in enumerate(entries):
        refreshed = item.refreshed_at
        entered = item.entered_at or refreshed
        fields = item.model_dump(exclude={"plate", "state", "refreshed_at", "entered_at"})
        try:
            entry = HotlistEntryIn(
                source=HotlistSource.PARTNER,
                plate=normalize_plate(item.plate),
                state=item.state.upper() if item.state else None,
                entered_at=entered,
                refreshed_at=refreshed,
                expires_at=compute_expiry(HotlistSource.PARTNER, entered_at=entered, refreshed_at=refreshed),
                **fields,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            refused.append(RefusedEntry(index=index, code="bad_entry", message=str(first["msg"])))
            continue
        problem = _partner_entry_problem(entry, first_at.get(entry_key(entry)), now)
        if problem is not None:
            refused.append(RefusedEntry(index=index, code=problem[0], message=problem[1]))
            continue
        first_at[entry_key(entry)] = index
        report.accept(index, entry.model_copy(update={"entered_at": min(entry.entered_at, now)}))
    wildcards = [line.line_no for line in report.accepted if line.entry.is_wildcard]
    if len(wildcards) > PARTNER_WILDCARDS_MAX:
        index = wildcards[PARTNER_WILDCARDS_MAX]
        raise InvalidInput(
            f"Entry {index} is one wildcard too many; a partner list holds at most {PARTNER_WILDCARDS_MAX}",
            code="too_many_wildcards",
            index=index,
            limit=PARTNER_WILDCARDS_MAX,
        )
    return report, refused


def _partner_entry_problem(entry: HotlistEntryIn, first: int | None, now: datetime) -> tuple[str, str] | None:
    """What refuses a partner entry beyond the rules of every entry: the code and the message, or None."""
    if entry.is_wildcard and known_characters(entry.plate) < PARTNER_WILDCARD_MIN_KNOWN:
        return "wildcard_too_short", f"a partner wildcard needs at least {PARTNER_WILDCARD_MIN_KNOWN} known characters"
    if entry.entered_at > now + timedelta(seconds=DEFAULT_CLOCK_SKEW_S):
        return "entered_in_future", "the entry was entered in the future"
    if first is not None:
        return "duplicate_entry", f"the entry repeats entry {first}"
    return None


@dataclass(frozen=True)
class ImportPlan:
    """Rows to insert, rows to refresh in place, rows to mark removed."""

    added: list[HotlistEntryIn]
    refreshed: list[tuple[int, HotlistEntryIn]]
    removed: list[int]


def plan_import(mode: str, held: dict[EntryKey, int], report: ImportReport) -> ImportPlan:
    """What a file changes: a replacement (refused when incomplete), additions, or removals."""
    if mode == "replace":
        delta = replacement_delta(held, report)
    elif mode == "add":
        delta = additions_and_removals(report, ImportReport(report.format))
    else:
        delta = additions_and_removals(ImportReport(report.format), report)
    added: dict[EntryKey, HotlistEntryIn] = {}
    refreshed: dict[int, HotlistEntryIn] = {}
    for entry in [*delta.added, *delta.refreshed]:
        key = entry_key(entry)
        if key in held:
            refreshed[held[key]] = entry
        else:
            added[key] = entry  # a file listing one record twice stores it once
    removed = [held[key] for key in delta.removed if key in held]
    return ImportPlan(list(added.values()), list(refreshed.items()), removed)


def hotlist_record(hotlist_id: str, details: dict[str, Any], *, plate: str | None = None) -> dict[str, Any]:
    """What a list change adds to its access record: which list, which plate, what changed."""
    return {
        "query": {"hotlist_id": hotlist_id, **({"plate": plate} if plate else {})},
        "result_count": 1,
        "result_ids": [hotlist_id],
        "details": details,
    }


def import_record(hotlist_id: str, result: ImportResult) -> dict[str, Any]:
    """An import's record: the format found and what it did to the list."""
    counts = result.model_dump(include={"format", "applied", "added", "refreshed", "removed"})
    tally = {"accepted": len(result.accepted_lines), "refused": len(result.refused)}
    return hotlist_record(hotlist_id, {**tally, "expiries_clamped": len(result.expiries_clamped), **counts})
