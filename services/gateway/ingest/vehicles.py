"""A vendor's vehicle attributes in the shared vocabulary (libs.common.contracts.vehicles), checked at the door."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from libs.common.contracts.vehicles import VehicleAttribute, VehicleAttributes, normalize_vehicle
from libs.common.errors import InvalidInput

from .confidence import confidence
from .fields import invalid

# what a vendor said about one attribute: its top-ranked value as text, and its confidence (0-1) when it gave one
Said = tuple[str | None, float | None]


def said_text(value: Any, *, field: str) -> str | None:
    """A vendor's value as text: strings as sent, numbers (a year, a logo code) as digits; anything else refused."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(field, "string")
    return str(value)


def ranked_top(items: list[dict[str, Any]], key: str, score_key: str, *, scale: float, field: str) -> Said:
    """The first of a ranked list (`[{name, confidence}]`, `[{color, score}]`) with its confidence scaled to 0-1."""
    if not items:
        return None, None
    top = items[0]
    return said_text(top.get(key), field=f"{field}[0].{key}"), confidence(
        top.get(score_key), scale=scale, field=f"{field}[0].{score_key}"
    ).value


def vehicle_attributes(said: Mapping[VehicleAttribute, Said]) -> VehicleAttributes | None:
    """The read's vehicle in the taxonomy, or None when the vendor said nothing about it.

    Hostile text (NUL, controls, over-long) is refused with the code every other text field gets.
    """
    try:
        attributes = normalize_vehicle(said)
    except ValidationError as exc:
        # the raw values are the read's `vehicle` text too: refused under that name, as ReadIn would refuse it
        first = exc.errors()[0]
        code = first["type"] if first["type"] in ("invalid_text", "text_too_long") else "invalid_field"
        raise InvalidInput(f"vehicle: {first['msg']}", code=code, field="vehicle", reason=first["msg"]) from None
    return None if attributes.is_empty() else attributes
