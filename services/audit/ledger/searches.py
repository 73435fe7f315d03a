"""Search events as the audit unit sees them, and the risk traits shared by sampling and flags."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo
from typing import Any

REPEAT_THRESHOLD = 3


@dataclass(frozen=True, slots=True)
class SearchSummary:
    """One search taken from the access log: who, when, which plate query."""

    event_id: str
    actor_sub: str
    occurred_at: datetime
    plate_query: str
    is_partial: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def plate_key(self) -> str:
        """The plate query as compared across searches: case, spaces and dashes do not count."""
        return plate_key(self.plate_query)


def plate_key(plate_query: str) -> str:
    """Normalize a plate query so 'abc-123' and 'ABC 123' are the same plate."""
    return "".join(ch for ch in plate_query.upper() if ch not in " -\t")


@dataclass(frozen=True, slots=True)
class OffHours:
    """The local hours outside a normal shift; a window past midnight wraps (22:00-06:00)."""

    start: time = time(22, 0)
    end: time = time(6, 0)

    def contains(self, moment: datetime, tz: tzinfo) -> bool:
        """Whether `moment`, seen on a local clock in `tz`, falls in the window."""
        local = moment.astimezone(tz).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def repeated_plates(searches: Iterable[SearchSummary], threshold: int = REPEAT_THRESHOLD) -> dict[tuple[str, str], int]:
    """(actor_sub, plate key) pairs searched at least `threshold` times, with their counts."""
    counts = Counter((search.actor_sub, search.plate_key) for search in searches)
    return {pair: count for pair, count in counts.items() if count >= threshold}
