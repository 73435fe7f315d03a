"""Intervals and the ECE noise floor: what a figure scored on a few dozen plates can and cannot show."""

from __future__ import annotations

import random

import pytest

from services.recognizer.engine.calibration import bin_members, expected_calibration_error, reliability
from services.recognizer.engine.uncertainty import (
    clean_reads_needed,
    ece_if_calibrated,
    grouped_share_interval,
    paired_p_value,
    wilson_interval,
)


class TestWilsonInterval:
    def test_matches_the_textbook_values(self) -> None:
        # 67 of 74 (the hold-out's 90.5%), 0 and 56 of 56: the roots of (k/n - p)² = z²p(1 - p)/n, by bisection
        assert wilson_interval(67, 74) == pytest.approx((0.8173, 0.9534), abs=1e-4)
        assert wilson_interval(0, 56) == pytest.approx((0.0, 0.0642), abs=1e-4)
        assert wilson_interval(56, 56) == pytest.approx((0.9358, 1.0), abs=1e-4)

    def test_holds_the_share_and_narrows_as_reads_grow(self) -> None:
        widths = []
        for n in (10, 100, 1000, 10000):
            low, high = wilson_interval(n // 10, n)
            assert low < 0.1 < high
            widths.append(high - low)
        assert widths == sorted(widths, reverse=True)

    def test_no_trials_say_nothing(self) -> None:
        assert wilson_interval(0, 0) == (0.0, 1.0)

    @pytest.mark.parametrize(("successes", "trials"), [(-1, 5), (6, 5)])
    def test_refuses_counts_that_cannot_be(self, successes: int, trials: int) -> None:
        with pytest.raises(ValueError):
            wilson_interval(successes, trials)

    def test_covers_the_true_share_about_95_times_in_100(self) -> None:
        rng = random.Random(3)
        covered = 0
        for _ in range(2000):
            right = sum(rng.random() < 0.9 for _ in range(74))
            low, high = wilson_interval(right, 74)
            covered += low <= 0.9 <= high
        assert 0.93 <= covered / 2000 <= 0.97


class TestCleanReadsNeeded:
    def test_is_the_first_count_whose_interval_reaches_the_target(self) -> None:
        n = clean_reads_needed(0.01)
        assert n == 381
        assert wilson_interval(0, n)[1] <= 0.01 < wilson_interval(0, n - 1)[1]

    def test_a_looser_target_needs_fewer(self) -> None:
        assert clean_reads_needed(0.05) < clean_reads_needed(0.01)

    @pytest.mark.parametrize("share", [0.0, 1.0, -0.1])
    def test_refuses_a_share_outside_0_1(self, share: float) -> None:
        with pytest.raises(ValueError):
            clean_reads_needed(share)


class TestEceIfCalibrated:
    def test_a_calibrated_model_measures_about_its_floor(self) -> None:
        """Outcomes drawn from the confidences themselves: their measured ECE lies inside the floor's spread."""
        rng = random.Random(5)
        confidences = [rng.choice([0.3, 0.6, 0.97, 0.99]) for _ in range(74)]
        floor = ece_if_calibrated(confidences, seed=1)
        measured = []
        for _ in range(200):
            correct = [rng.random() < p for p in confidences]
            measured.append(expected_calibration_error(confidences, correct))
        assert sum(measured) / len(measured) == pytest.approx(floor.mean, rel=0.15)
        assert 0.9 <= sum(m <= floor.p95 for m in measured) / len(measured) <= 0.99

    def test_shrinks_with_more_reads_and_is_far_from_a_miscalibrated_model(self) -> None:
        few = ece_if_calibrated([0.95] * 74, seed=0)
        many = ece_if_calibrated([0.95] * 5000, seed=0)
        assert many.mean < few.mean / 4
        # a model that claims 0.95 and is right 80% of the time sits far above either floor
        overconfident = expected_calibration_error([0.95] * 5000, [i % 5 != 0 for i in range(5000)])
        assert overconfident > 10 * many.p95

    def test_is_seeded_and_empty_input_is_zero(self) -> None:
        confidences = [0.5, 0.9, 0.99, 0.2]
        assert ece_if_calibrated(confidences, seed=4) == ece_if_calibrated(confidences, seed=4)
        assert ece_if_calibrated([]) is None  # no reads, no floor
        with pytest.raises(ValueError):
            ece_if_calibrated(confidences, draws=0)


class TestBinMembers:
    def test_every_read_falls_in_exactly_one_bin_and_1_in_the_last(self) -> None:
        confidences = [0.0, 0.1, 0.3, 0.7, 0.6, 0.9999, 1.0, 0.45]
        members = bin_members(confidences)
        assert sorted(i for bin_ in members for i in bin_) == list(range(len(confidences)))
        assert 6 in members[9] and 5 in members[9] and 0 in members[0]
        assert [b.reads for b in reliability(confidences, [True] * 8)] == [len(m) for m in members if m]

    @pytest.mark.parametrize("confidence", [float("nan"), -0.01, 1.01])
    def test_a_confidence_that_is_not_a_probability_is_refused(self, confidence: float) -> None:
        with pytest.raises(ValueError):
            bin_members([0.5, confidence])
        with pytest.raises(ValueError):
            expected_calibration_error([0.5, confidence], [True, True])

    def test_reliability_refuses_outcomes_that_do_not_match(self) -> None:
        with pytest.raises(ValueError):
            reliability([0.5, 0.6], [True])


class TestGroupedShareInterval:
    @staticmethod
    def expand(groups: list[tuple[int, int]]) -> tuple[list[int], list[bool], list[bool]]:
        """Groups as (hits, reads) spelt out read by read, every read counted."""
        keys, hits = [], []
        for g, (h, n) in enumerate(groups):
            keys += [g] * n
            hits += [True] * h + [False] * (n - h)
        return keys, hits, [True] * len(keys)

    def test_groups_of_copies_are_as_wide_as_their_photos_not_their_reads(self) -> None:
        """74 photos, 67 right, each read eight times alike: the interval is the 74 photos' own."""
        low, high = grouped_share_interval(*self.expand([(8, 8)] * 67 + [(0, 8)] * 7))
        assert (low, high) == pytest.approx(wilson_interval(67, 74), abs=0.01)
        independent_low, independent_high = wilson_interval(536, 592)
        assert high - low > 2 * (independent_high - independent_low)

    def test_independent_reads_give_the_wilson_interval(self) -> None:
        low, high = grouped_share_interval(*self.expand([(1, 1)] * 450 + [(0, 1)] * 50))
        assert (low, high) == pytest.approx(wilson_interval(450, 500), abs=0.002)

    def test_no_hit_at_all_counts_each_group_once_and_is_never_a_zero_width_interval(self) -> None:
        # 40 photos of 12 sure reads, none wrong: as wide as 0 of 40, not 0 of 480
        low, high = grouped_share_interval(*self.expand([(0, 12)] * 40))
        assert (low, high) == pytest.approx(wilson_interval(0, 40))
        assert grouped_share_interval(*self.expand([(3, 3)])) == pytest.approx(wilson_interval(1, 1))

    @pytest.mark.parametrize("clustering", ["whole photos", "partly"])
    def test_covers_a_rare_clustered_share_about_95_times_in_100(self, clustering: str) -> None:
        """2% misread, 40 photos of 16 reads (the calibration split's shape): photos misread whole, or a
        beta-binomial with intra-photo correlation 0.3. A percentile bootstrap by photo covered 30-51%."""
        rng = random.Random(8)
        covered = 0
        for _ in range(300):
            groups = []
            for _ in range(40):
                if clustering == "whole photos":
                    groups.append((16 if rng.random() < 0.02 else 0, 16))
                else:
                    q = rng.betavariate(0.02 * 0.7 / 0.3, 0.98 * 0.7 / 0.3)
                    groups.append((sum(rng.random() < q for _ in range(16)), 16))
            low, high = grouped_share_interval(*self.expand(groups))
            covered += low <= 0.02 <= high
        assert covered / 300 >= 0.93

    def test_one_misread_photo_is_never_tighter_than_none(self) -> None:
        none = grouped_share_interval(*self.expand([(0, 16)] * 40))
        one_photo = grouped_share_interval(*self.expand([(16, 16)] + [(0, 16)] * 39))
        assert one_photo[1] > none[1]
        # a lone misread among 592 reads, some evidence misreads are not clustered, may narrow it, but smoothly
        lone = grouped_share_interval(*self.expand([(1, 8)] + [(0, 8)] * 73))
        assert lone[1] > 0.015

    def test_only_counted_reads_count_and_groups_without_them_say_nothing(self) -> None:
        keys, hits, counted = ["a", "a", "b", "c"], [True, False, False, True], [True, False, False, False]
        assert grouped_share_interval(keys, hits, counted) == pytest.approx(wilson_interval(1, 1))
        assert grouped_share_interval(keys, hits, [False] * 4) == (0.0, 1.0)

    def test_refuses_sequences_that_do_not_line_up(self) -> None:
        with pytest.raises(ValueError):
            grouped_share_interval(["a", "b"], [True], [True, True])


class TestPairedPValue:
    def test_matches_the_exact_binomial_test(self) -> None:
        # 2 against 2: nothing to tell; 0 against 6: 2 * 0.5**6; 1 against 9: 2 * (1 + 10) / 1024
        assert paired_p_value(2, 2) == 1.0
        assert paired_p_value(0, 6) == pytest.approx(2 / 64)
        assert paired_p_value(9, 1) == pytest.approx(2 * (1 + 10) / 1024)
        assert paired_p_value(0, 0) == 1.0

    def test_is_symmetric_and_falls_as_the_split_grows_uneven(self) -> None:
        assert paired_p_value(3, 12) == paired_p_value(12, 3)
        assert paired_p_value(1, 14) < paired_p_value(4, 11) < paired_p_value(7, 8)

    def test_refuses_negative_counts(self) -> None:
        with pytest.raises(ValueError):
            paired_p_value(-1, 3)
