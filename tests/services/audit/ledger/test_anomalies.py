"""Anomaly flags over a period of searches (F2)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.audit.ledger.anomalies import AnomalyKind, AnomalyRules, flag_anomalies
from services.audit.ledger.searches import SearchSummary

PACIFIC = ZoneInfo("America/Los_Angeles")


def search(event_id: str, actor: str, day: int, hour: int, plate: str) -> SearchSummary:
    return SearchSummary(event_id, actor, datetime(2026, 3, day, hour, 0, tzinfo=PACIFIC), plate)


def steady_week(actor: str, per_day: int = 4) -> list[SearchSummary]:
    """Daytime searches of distinct plates, `per_day` a day for a week."""
    return [
        search(f"{actor}-{day}-{n}", actor, day, 9 + n % 8, f"{actor[:2]}{day:02d}{n:03d}")
        for day in range(2, 9)
        for n in range(per_day)
    ]


class TestFlags:
    def test_normal_use_raises_no_flag(self) -> None:
        assert flag_anomalies(steady_week("alice") + steady_week("bob"), tz=PACIFIC) == []

    def test_same_plate_searched_repeatedly_by_one_person(self) -> None:
        searches = steady_week("alice") + [search(f"r{i}", "alice", 3 + i, 10, "7abc-123") for i in range(2)]
        searches.append(search("r2", "alice", 6, 10, "7ABC123"))
        searches += [search(f"b{i}", "bob", 3 + i, 10, "7ABC123") for i in range(2)]
        flags = [f for f in flag_anomalies(searches, tz=PACIFIC) if f.kind is AnomalyKind.REPEATED_PLATE]
        assert [(f.actor_sub, f.plate, f.count, f.event_ids) for f in flags] == [
            ("alice", "7ABC123", 3, ("r0", "r1", "r2"))
        ]

    def test_volume_spike_against_own_median(self) -> None:
        spike = [search(f"s{n}", "alice", 9, 10 + n % 6, f"SP{n:04d}") for n in range(13)]
        flags = flag_anomalies(steady_week("alice") + spike, tz=PACIFIC)
        spikes = [f for f in flags if f.kind is AnomalyKind.VOLUME_SPIKE]
        assert [(f.actor_sub, f.day, f.count) for f in spikes] == [("alice", date(2026, 3, 9), 13)]

    def test_volume_over_the_daily_limit_without_history(self) -> None:
        burst = [search(f"s{n}", "carol", 4, 12, f"BU{n:04d}") for n in range(6)]
        rules = AnomalyRules(daily_limit=5)
        spikes = [f for f in flag_anomalies(burst, tz=PACIFIC, rules=rules) if f.kind is AnomalyKind.VOLUME_SPIKE]
        assert [(f.actor_sub, f.count) for f in spikes] == [("carol", 6)]

    def test_off_hours_use_on_the_local_clock(self) -> None:
        night = [search("n1", "dave", 5, 23, "N1"), search("n2", "dave", 6, 2, "N2")]
        # 15:00 in Pacific is 23:00 UTC: off hours only if the clock were read in the wrong zone.
        afternoon = SearchSummary("d1", "dave", datetime(2026, 3, 5, 15, 0, tzinfo=PACIFIC), "D1")
        flags = flag_anomalies([*night, afternoon], tz=PACIFIC)
        off = [(f.actor_sub, f.day, f.event_ids) for f in flags if f.kind is AnomalyKind.OFF_HOURS]
        assert off == [("dave", date(2026, 3, 5), ("n1",)), ("dave", date(2026, 3, 6), ("n2",))]
