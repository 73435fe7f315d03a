"""What a partner may name as a plate: the one it searches, and a wildcard on the list it sends us."""

from __future__ import annotations

from annotated_types import MinLen

from libs.common.contracts.reads import normalize_plate
from libs.common.contracts.search import MIN_KNOWN_PARTIAL, known_characters
from libs.common.contracts.sharing import PartnerSearch
from libs.common.errors import InvalidInput

# the contract's own minimum, asked again of what is left once separators are gone ("--" passed it)
MIN_KNOWN_SEARCHED = next(m.min_length for m in PartnerSearch.model_fields["plate"].metadata if isinstance(m, MinLen))
_WILDCARDS = frozenset("*?")


def searched_plate(raw: str) -> str:
    """The plate a partner searches, without separators; too few characters left is refused, never 'any plate'."""
    plate = normalize_plate(raw)
    if known_characters(plate) < MIN_KNOWN_SEARCHED:
        raise InvalidInput(
            f"the plate needs at least {MIN_KNOWN_SEARCHED} letters or digits besides spaces and dashes",
            code="plate_too_short",
            field="plate",
        )
    return plate


def check_wildcard(plate: str, *, index: int) -> None:
    """A wildcard entry names at least MIN_KNOWN_PARTIAL characters: `7*` would match every plate starting with 7."""
    normalized = normalize_plate(plate)
    if not _WILDCARDS.isdisjoint(normalized) and known_characters(normalized) < MIN_KNOWN_PARTIAL:
        raise InvalidInput(
            f"Entry {index} is a wildcard with fewer than {MIN_KNOWN_PARTIAL} known characters",
            code="wildcard_too_short",
            index=index,
        )
