"""What a partner may name as a plate: the one it searches, and a wildcard on the list it sends us."""

from __future__ import annotations

from annotated_types import MinLen

from libs.common.contracts.hotlists import PARTNER_WILDCARD_MIN_KNOWN, PARTNER_WILDCARDS_MAX, PartnerEntryIn
from libs.common.contracts.reads import normalize_plate
from libs.common.contracts.search import known_characters
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
    """A partner's wildcard names at least PARTNER_WILDCARD_MIN_KNOWN characters: `*000` matches 1 plate in 1,000."""
    normalized = normalize_plate(plate)
    if not _WILDCARDS.isdisjoint(normalized) and known_characters(normalized) < PARTNER_WILDCARD_MIN_KNOWN:
        raise InvalidInput(
            f"Entry {index} is a wildcard with fewer than {PARTNER_WILDCARD_MIN_KNOWN} known characters",
            code="wildcard_too_short",
            index=index,
        )


def check_partner_list(entries: list[PartnerEntryIn]) -> None:
    """The list as a whole: each plate once (the same key records stores it under), few wildcards."""
    first_at: dict[tuple[str, str | None, str | None], int] = {}
    wildcards = 0
    for index, entry in enumerate(entries):
        plate = normalize_plate(entry.plate)
        key = (plate, entry.state.upper() if entry.state else None, entry.nic)
        if key in first_at:
            raise InvalidInput(
                f"Entry {index} repeats entry {first_at[key]}",
                code="duplicate_entry",
                index=index,
                first_index=first_at[key],
            )
        first_at[key] = index
        wildcards += not _WILDCARDS.isdisjoint(plate)
        if wildcards > PARTNER_WILDCARDS_MAX:
            raise InvalidInput(
                f"Entry {index} is wildcard number {wildcards}; a list holds at most {PARTNER_WILDCARDS_MAX}",
                code="too_many_wildcards",
                index=index,
                limit=PARTNER_WILDCARDS_MAX,
            )
