"""The reproducible random audit sample and its high-risk strata (F1)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from libs.common.errors import InvalidInput
from services.audit.ledger.sampling import Stratum, draw_sample
from services.audit.ledger.searches import OffHours, SearchSummary

PACIFIC = ZoneInfo("America/Los_Angeles")
PERIOD_START = datetime(2026, 3, 1, tzinfo=PACIFIC)
PERIOD_END = datetime(2026, 4, 1, tzinfo=PACIFIC)


def month_of_searches() -> list[SearchSummary]:
    """300 daytime searches by 10 people, plus known partial, repeated and night searches."""
    searches = []
    for i in range(300):
        moment = datetime(2026, 3, 1 + i % 28, 9 + i % 8, i % 60, tzinfo=PACIFIC)
        searches.append(SearchSummary(f"day-{i:03d}", f"officer-{i % 10}", moment, f"8XYZ{i:03d}"))
    for i in range(6):
        moment = datetime(2026, 3, 3 + i, 11, 0, tzinfo=PACIFIC)
        searches.append(SearchSummary(f"partial-{i}", "officer-1", moment, f"7AB*{i}", is_partial=True))
    for i in range(4):
        moment = datetime(2026, 3, 10 + i, 13, 0, tzinfo=PACIFIC)
        searches.append(SearchSummary(f"repeat-{i}", "officer-2", moment, "6 ex-221" if i % 2 else "6EX221"))
    for i in range(5):
        moment = datetime(2026, 3, 20 + i, 23, 30, tzinfo=PACIFIC)
        searches.append(SearchSummary(f"night-{i}", "officer-3", moment, f"5NT{i:03d}"))
    # Outside the period: never sampled.
    searches.append(SearchSummary("april", "officer-1", datetime(2026, 4, 2, tzinfo=PACIFIC), "5NT000"))
    return searches


def draw(searches: list[SearchSummary], seed: int, **options: object) -> list[tuple[str, Stratum]]:
    sample = draw_sample(
        searches,
        seed=seed,
        period_start=PERIOD_START,
        period_end=PERIOD_END,
        size=10,
        stratum_size=3,
        tz=PACIFIC,
        **options,
    )
    return [(item.search.event_id, item.stratum) for item in sample.items]


class TestDrawSample:
    def test_same_seed_same_sample_whatever_the_input_order(self) -> None:
        searches = month_of_searches()
        assert draw(searches, 20260401) == draw(list(reversed(searches)), 20260401)

    def test_another_seed_another_sample(self) -> None:
        searches = month_of_searches()
        assert draw(searches, 20260401) != draw(searches, 20260402)

    def test_strata_are_populated_from_their_own_searches(self) -> None:
        chosen = draw(month_of_searches(), 7)
        by_stratum: dict[Stratum, list[str]] = {}
        for event_id, stratum in chosen:
            by_stratum.setdefault(stratum, []).append(event_id)
        assert len(by_stratum[Stratum.RANDOM]) == 10
        assert len(by_stratum[Stratum.PARTIAL_PLATE]) == 3
        assert all(e.startswith("partial-") for e in by_stratum[Stratum.PARTIAL_PLATE])
        assert len(by_stratum[Stratum.REPEATED_PLATE]) == 3
        assert all(e.startswith("repeat-") for e in by_stratum[Stratum.REPEATED_PLATE])
        assert len(by_stratum[Stratum.OFF_HOURS]) == 3
        assert all(e.startswith("night-") for e in by_stratum[Stratum.OFF_HOURS])
        assert len({event_id for event_id, _ in chosen}) == len(chosen)
        assert "april" not in {event_id for event_id, _ in chosen}

    def test_sample_records_seed_and_population(self) -> None:
        sample = draw_sample(
            month_of_searches(),
            seed=99,
            period_start=PERIOD_START,
            period_end=PERIOD_END,
            size=5,
            tz=PACIFIC,
        )
        assert (sample.seed, sample.population) == (99, 315)
        assert len(sample.in_stratum(Stratum.RANDOM)) == 5

    def test_off_hours_window_is_configurable(self) -> None:
        searches = month_of_searches()
        daytime = OffHours(start=time(9, 0), end=time(10, 0))
        chosen = draw(searches, 7, off_hours=daytime)
        off_hours = [e for e, stratum in chosen if stratum is Stratum.OFF_HOURS]
        assert off_hours and all(e.startswith("day-") for e in off_hours)

    def test_small_strata_give_what_they_have(self) -> None:
        searches = [s for s in month_of_searches() if not s.event_id.startswith("partial-")]
        assert all(stratum is not Stratum.PARTIAL_PLATE for _, stratum in draw(searches, 7))

    def test_refuses_a_period_with_naive_bounds(self) -> None:
        with pytest.raises(InvalidInput):
            draw_sample([], seed=1, period_start=datetime(2026, 3, 1), period_end=PERIOD_END, size=1, tz=UTC)


class TestOffHours:
    @pytest.mark.parametrize(
        "local, expected",
        [
            (time(21, 59), False),
            (time(22, 0), True),
            (time(3, 0), True),
            (time(5, 59), True),
            (time(6, 0), False),
        ],
    )
    def test_default_window_wraps_midnight_on_the_local_clock(self, local: time, expected: bool) -> None:
        moment = datetime(2026, 3, 2, local.hour, local.minute, tzinfo=PACIFIC).astimezone(UTC)
        assert OffHours().contains(moment, PACIFIC) is expected

    def test_hours_are_read_in_the_given_zone_not_utc(self) -> None:
        afternoon = datetime(2026, 3, 5, 15, 0, tzinfo=PACIFIC)  # 23:00 UTC
        assert not OffHours().contains(afternoon, PACIFIC)
        assert OffHours().contains(afternoon, UTC)
