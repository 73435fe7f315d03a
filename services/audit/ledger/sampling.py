"""The reproducible random audit sample of searches, with its high-risk strata (F1)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import StrEnum

from libs.common.errors import InvalidInput
from services.audit.ledger.searches import REPEAT_THRESHOLD, OffHours, SearchSummary, repeated_plates


class Stratum(StrEnum):
    """Why a search is in the sample: drawn from all searches, or from one high-risk group."""

    RANDOM = "random"
    PARTIAL_PLATE = "partial_plate"
    REPEATED_PLATE = "repeated_plate"
    OFF_HOURS = "off_hours"


@dataclass(frozen=True, slots=True)
class SampledSearch:
    """One search chosen for review and the stratum it was drawn from."""

    search: SearchSummary
    stratum: Stratum


@dataclass(frozen=True, slots=True)
class DrawnSample:
    """A drawn sample; seed and parameters are kept so anyone can draw it again."""

    seed: int
    period_start: datetime
    period_end: datetime
    size: int
    stratum_size: int
    population: int
    items: tuple[SampledSearch, ...]

    def in_stratum(self, stratum: Stratum) -> list[SearchSummary]:
        """The searches drawn for one stratum."""
        return [item.search for item in self.items if item.stratum is stratum]


def new_seed() -> int:
    """A fresh seed, to be recorded with the sample before it is drawn."""
    return secrets.randbits(63)


def draw_sample(
    searches: Iterable[SearchSummary],
    *,
    seed: int,
    period_start: datetime,
    period_end: datetime,
    size: int,
    tz: tzinfo,
    stratum_size: int | None = None,
    off_hours: OffHours | None = None,
    repeat_threshold: int = REPEAT_THRESHOLD,
) -> DrawnSample:
    """Draw `size` searches of [period_start, period_end) at random, then `stratum_size` per high-risk stratum."""
    if size < 0 or (stratum_size is not None and stratum_size < 0):
        raise InvalidInput("sample sizes must not be negative", size=size, stratum_size=stratum_size)
    if period_start.tzinfo is None or period_end.tzinfo is None or period_end <= period_start:
        raise InvalidInput("the period needs aware bounds, start before end")
    window = off_hours or OffHours()
    per_stratum = size if stratum_size is None else stratum_size
    # Same seed, same searches, same sample: the draw runs over an order the caller's query cannot change.
    population = sorted(
        (s for s in searches if period_start <= s.occurred_at < period_end),
        key=lambda s: (s.occurred_at, s.event_id),
    )
    repeated = repeated_plates(population, repeat_threshold)
    strata: list[tuple[Stratum, int, Callable[[SearchSummary], bool]]] = [
        (Stratum.RANDOM, size, lambda s: True),
        (Stratum.PARTIAL_PLATE, per_stratum, lambda s: s.is_partial),
        (Stratum.REPEATED_PLATE, per_stratum, lambda s: (s.actor_sub, s.plate_key) in repeated),
        (Stratum.OFF_HOURS, per_stratum, lambda s: window.contains(s.occurred_at, tz)),
    ]
    rng = random.Random(seed)
    chosen: set[str] = set()
    items: list[SampledSearch] = []
    for stratum, quota, member in strata:
        candidates = [s for s in population if s.event_id not in chosen and member(s)]
        picked = rng.sample(candidates, min(quota, len(candidates)))
        picked.sort(key=lambda s: (s.occurred_at, s.event_id))
        chosen.update(s.event_id for s in picked)
        items.extend(SampledSearch(s, stratum) for s in picked)
    return DrawnSample(seed, period_start, period_end, size, per_stratum, len(population), tuple(items))
