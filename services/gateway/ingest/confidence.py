"""Vendor confidences to 0-1, keeping the value as sent (FORMATS.md §14.3)."""

from __future__ import annotations

from dataclasses import dataclass

from libs.common.errors import InvalidInput


@dataclass(frozen=True)
class Confidence:
    value: float | None
    raw: str | None


def confidence(sent: object, *, scale: float, field: str) -> Confidence:
    """Divide by the vendor's scale (100 for percent, 1 for fractions); negative means "not available"."""
    if sent is None or sent == "":
        return Confidence(None, None)
    if isinstance(sent, bool) or not isinstance(sent, int | float | str):
        raise InvalidInput(f"{field} is not a number", code="invalid_field", field=field)
    raw = str(sent)
    try:
        number = float(sent)
    except (ValueError, OverflowError):  # an integer of hundreds of digits overflows
        raise InvalidInput(f"{field} is not a number", code="invalid_field", field=field) from None
    if number != number or number < 0:
        return Confidence(None, raw)
    # Vendors overshoot their own scale now and then; the raw value keeps the evidence.
    return Confidence(min(number / scale, 1.0), raw)
