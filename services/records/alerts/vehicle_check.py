"""Whether the vehicle a camera saw clearly differs from the one a hotlist entry describes (issue 30, item 3).

A flag for the officer's verification, never a decision: `judge` still rests on what the officer saw.
Only attributes both sides state are compared, the camera's only at `MIN_CONFIDENCE` or more (a vendor that
gives no confidence is not compared: a guess against the list would be noise beside a real hit). Model names
are not compared: NCIC VMO codes (`CIV`, `CAM`) and vendor model names share no spelling.
"""

from __future__ import annotations

from pydantic import ValidationError

from libs.common.contracts.alerts import HotlistEntrySnapshot
from libs.common.contracts.vehicles import VehicleAttribute, VehicleAttributes, normalize_vehicle

MIN_CONFIDENCE = 0.6  # the camera's confidence an attribute needs before it may flag a difference

# body types a camera and a list may each call the same vehicle: only a different family is a clear difference
_BODY_FAMILY = {
    "sedan": "car", "coupe": "car", "hatchback": "car", "wagon": "car", "convertible": "car", "limousine": "car",
    "suv-crossover": "suv", "minivan": "van", "van": "van", "pickup": "pickup", "truck": "truck",
    "tractor-trailer": "truck", "bus": "bus", "motorhome": "bus", "motorcycle": "motorcycle",
}  # fmt: skip
# colours that light, paint and sensors confuse: neighbours are not a clear difference
_NEAR_COLORS = {
    frozenset(pair)
    for pair in (
        ("white", "silver-gray"), ("silver-gray", "black"), ("gold", "brown-beige"), ("gold", "yellow"),
        ("yellow", "orange"), ("red", "orange"), ("red", "pink"), ("red", "purple"), ("blue", "purple"),
        ("blue", "green"), ("brown-beige", "silver-gray"),
    )
}  # fmt: skip
_COMPARED: tuple[VehicleAttribute, ...] = ("color", "year", "make", "body_type")  # the order an officer says them


def listed_vehicle(entry: HotlistEntrySnapshot) -> VehicleAttributes:
    """The entry's vehicle (NCIC VYR/VMA/VMO/VST/VCO or a list's columns) in the shared vocabulary."""
    year = str(entry.vehicle_year) if entry.vehicle_year is not None else None
    try:
        return _normalized(entry, year)
    except ValidationError:  # an older entry's text the vocabulary refuses: nothing to compare, no flag
        return VehicleAttributes()


def _normalized(entry: HotlistEntrySnapshot, year: str | None) -> VehicleAttributes:
    return normalize_vehicle(
        {
            "make": (entry.make, None),
            "model": (entry.model, None),
            "color": (entry.colour, None),
            "body_type": (entry.style, None),
            "year": (year, None),
        }
    )


def vehicle_difference(listed: VehicleAttributes, seen: VehicleAttributes | None) -> str | None:
    """`list says white Toyota sedan, camera saw red Ford pickup` when an attribute clearly differs, else None."""
    if seen is None:
        return None
    both = [name for name in _COMPARED if _stated(listed, name) and _sure(seen, name)]
    if not any(_differs(listed, seen, name) for name in both):
        return None
    return f"list says {_words(listed, both)}, camera saw {_words(seen, both)}"


def _stated(vehicle: VehicleAttributes, name: VehicleAttribute) -> bool:
    return (vehicle.year_from if name == "year" else getattr(vehicle, name)) is not None


def _sure(vehicle: VehicleAttributes, name: VehicleAttribute) -> bool:
    return _stated(vehicle, name) and vehicle.confidence.get(name, 0.0) >= MIN_CONFIDENCE


def _differs(listed: VehicleAttributes, seen: VehicleAttributes, name: VehicleAttribute) -> bool:
    if name == "color":
        return listed.color != seen.color and frozenset((listed.color, seen.color)) not in _NEAR_COLORS
    if name == "body_type":
        return _BODY_FAMILY[listed.body_type or ""] != _BODY_FAMILY[seen.body_type or ""]
    if name == "year":  # a list gives one year, a camera a range: they differ when they do not overlap
        return (listed.year_to or 0) < (seen.year_from or 0) or (seen.year_to or 0) < (listed.year_from or 0)
    return listed.make != seen.make


def _words(vehicle: VehicleAttributes, names: list[VehicleAttribute]) -> str:
    said = []
    for name in names:
        if name == "year":
            first, last = vehicle.year_from, vehicle.year_to
            said.append(str(first) if last in (None, first) else f"{first}-{last}")
        else:
            said.append(str(getattr(vehicle, name)))
    return " ".join(said)
