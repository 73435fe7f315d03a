"""Anomaly flags over a period of searches (F2): repeated plates, volume spikes, off-hours use."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, tzinfo
from enum import StrEnum

from services.audit.ledger.searches import REPEAT_THRESHOLD, OffHours, SearchSummary


class AnomalyKind(StrEnum):
    """What kind of use a flag points at."""

    REPEATED_PLATE = "repeated_plate"
    VOLUME_SPIKE = "volume_spike"
    OFF_HOURS = "off_hours"


@dataclass(frozen=True, slots=True)
class AnomalyFlag:
    """One pattern for the audit unit to look at, with the searches behind it."""

    kind: AnomalyKind
    actor_sub: str
    count: int
    event_ids: tuple[str, ...]
    detail: str
    plate: str | None = None
    day: date | None = None


@dataclass(frozen=True, slots=True)
class AnomalyRules:
    """Thresholds of the flags; the defaults are a starting point for the audit unit to tune."""

    repeat_threshold: int = REPEAT_THRESHOLD
    spike_factor: float = 3.0
    daily_limit: int = 200
    # A median of one or two active days says nothing about what is usual for a person.
    spike_min_days: int = 3
    off_hours: OffHours = field(default_factory=OffHours)
    off_hours_min: int = 1


def flag_anomalies(
    searches: Iterable[SearchSummary], *, tz: tzinfo, rules: AnomalyRules | None = None
) -> list[AnomalyFlag]:
    """Flags for the searches of one period, days and hours read on the local clock in `tz`."""
    rules = rules or AnomalyRules()
    by_plate: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_day: dict[str, dict[date, list[str]]] = defaultdict(lambda: defaultdict(list))
    off_by_day: dict[tuple[str, date], list[str]] = defaultdict(list)
    for search in sorted(searches, key=lambda s: (s.occurred_at, s.event_id)):
        day = search.occurred_at.astimezone(tz).date()
        by_plate[(search.actor_sub, search.plate_key)].append(search.event_id)
        by_day[search.actor_sub][day].append(search.event_id)
        if rules.off_hours.contains(search.occurred_at, tz):
            off_by_day[(search.actor_sub, day)].append(search.event_id)
    flags: list[AnomalyFlag] = []
    for (actor, plate), ids in sorted(by_plate.items()):
        if len(ids) >= rules.repeat_threshold:
            detail = f"{actor} searched {plate} {len(ids)} times"
            flags.append(AnomalyFlag(AnomalyKind.REPEATED_PLATE, actor, len(ids), tuple(ids), detail, plate))
    for actor, days in sorted(by_day.items()):
        flags.extend(_spikes(actor, days, rules))
    for (actor, day), ids in sorted(off_by_day.items()):
        if len(ids) >= rules.off_hours_min:
            detail = f"{actor} made {len(ids)} searches off hours on {day}"
            flags.append(AnomalyFlag(AnomalyKind.OFF_HOURS, actor, len(ids), tuple(ids), detail, day=day))
    return flags


def _spikes(actor: str, days: dict[date, list[str]], rules: AnomalyRules) -> list[AnomalyFlag]:
    """Days where a person searched far more than their median active day, or past the limit."""
    median = statistics.median(len(ids) for ids in days.values())
    enough_history = len(days) >= rules.spike_min_days
    flags = []
    for day, ids in sorted(days.items()):
        count = len(ids)
        over_median = enough_history and count > rules.spike_factor * median
        if over_median or count > rules.daily_limit:
            detail = f"{actor} made {count} searches on {day} (median {median:g}/day)"
            flags.append(AnomalyFlag(AnomalyKind.VOLUME_SPIKE, actor, count, tuple(ids), detail, day=day))
    return flags
