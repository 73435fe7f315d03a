"""Plate text, candidates and state codes as stored (FORMATS.md §14.5)."""

from __future__ import annotations

from dataclasses import dataclass

from libs.common.contracts.reads import PLATE_MAX_LEN, Candidate, normalize_plate, plate_is_acceptable


class PlateRefused(Exception):
    """Plate text that cannot be stored; the reason is a stable code."""

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


@dataclass(frozen=True)
class PlateText:
    plate: str
    raw: str


def plate_text(raw: str) -> PlateText:
    """Normalized text with the raw kept; two-row `\\n` plates fold into one line, the raw keeps the break."""
    plate = raw.upper()
    if plate.isascii() and plate.isalnum() and len(plate) <= PLATE_MAX_LEN:
        # already A-Z/0-9 once upper-cased: nothing to strip, and every rule below holds (1.4 -> 0.5 us)
        return PlateText(plate, raw)
    plate = normalize_plate(raw)
    if not any(ch.isalnum() for ch in plate):
        raise PlateRefused("plate_unreadable", raw)
    if len(plate) > PLATE_MAX_LEN:
        raise PlateRefused("plate_too_long", raw)
    if not plate_is_acceptable(plate):
        # Stored plates are A-Z/0-9 (the contract); the rejection record keeps the vendor's text.
        raise PlateRefused("plate_charset", raw)
    return PlateText(plate, raw)


def candidate(raw: object, score: float | None) -> Candidate | None:
    """A candidate reading, or None when its text cannot be stored; an unknown score is 0."""
    if not isinstance(raw, str):
        return None
    try:
        text = plate_text(raw)
    except PlateRefused:
        return None
    return Candidate(plate=text.plate, confidence=score if score is not None else 0.0)


def unique_candidates(items: list[Candidate | None]) -> list[Candidate]:
    """Candidates in vendor order, first occurrence of each plate wins."""
    seen: set[str] = set()
    kept: list[Candidate] = []
    for item in items:
        if item is not None and item.plate not in seen:
            seen.add(item.plate)
            kept.append(item)
    return kept


def state_code(region: object, *, bare_is_state: bool) -> str | None:
    """`us-ca`/`ca-on` → `CA`/`ON`; a bare code is a state only where the vendor means one (OpenALPR `ma`)."""
    if not isinstance(region, str):
        return None
    code = region.strip()
    if not code or code == "-":
        return None
    country, dash, subdivision = code.partition("-")
    if dash:
        return subdivision.upper() if country.lower() in ("us", "ca", "mx") and subdivision.isalpha() else None
    return code.upper() if bare_is_state and code.isalpha() and len(code) == 2 else None
