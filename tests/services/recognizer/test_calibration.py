"""Honest confidence: temperature scaling, the SURE level, calibration error and the reliability table.

The calibrator itself (several inputs, stored in the weights) is tested in test_calibrator.py.
"""

from __future__ import annotations

import random

import pytest

from services.recognizer.engine.calibration import (
    at_or_above,
    choose_sure_threshold,
    expected_calibration_error,
    fit_temperature,
    reliability,
    scale,
)


def overconfident(n: int, *, claimed: float, right: float, seed: int = 0) -> tuple[list[float], list[bool]]:
    """Reads that all claim `claimed` and are right a `right` share of the time."""
    rng = random.Random(seed)
    return [claimed] * n, [rng.random() < right for _ in range(n)]


class TestTemperature:
    def test_one_leaves_a_probability_as_it_is(self) -> None:
        assert scale(0.83, 1.0) == pytest.approx(0.83)

    def test_above_one_softens_and_keeps_the_order(self) -> None:
        values = [0.2, 0.6, 0.9, 0.99]
        softened = [scale(p, 2.0) for p in values]
        assert softened == sorted(softened)
        assert softened[-1] < 0.99 and softened[0] > 0.2

    def test_an_overconfident_reader_gets_a_temperature_that_brings_its_claim_to_its_accuracy(self) -> None:
        confidences, correct = overconfident(2000, claimed=0.99, right=0.8)
        temperature = fit_temperature(confidences, correct)
        assert temperature > 1.5
        assert scale(0.99, temperature) == pytest.approx(0.8, abs=0.03)

    def test_an_honest_reader_keeps_a_temperature_near_one(self) -> None:
        rng = random.Random(3)
        confidences = [rng.uniform(0.05, 0.999) for _ in range(4000)]
        correct = [rng.random() < p for p in confidences]
        assert fit_temperature(confidences, correct) == pytest.approx(1.0, abs=0.15)

    def test_nothing_to_fit_is_refused(self) -> None:
        with pytest.raises(ValueError):
            fit_temperature([], [])


class TestSureLevel:
    def test_the_lowest_cut_whose_reads_are_at_most_one_percent_wrong(self) -> None:
        # 600 right reads at 0.95-0.999, then 400 at 0.5-0.9 of which a quarter are wrong
        rng = random.Random(1)
        confidences = [rng.uniform(0.95, 0.999) for _ in range(600)] + [rng.uniform(0.5, 0.9) for _ in range(400)]
        correct = [True] * 600 + [i % 4 != 0 for i in range(400)]
        threshold = choose_sure_threshold(confidences, correct)
        above = at_or_above(confidences, correct, threshold)
        assert above.wrong_share <= 0.01
        assert above.reads >= 600  # it does not give up the right reads to be safe
        lower = max(p for p in confidences if p < threshold)
        assert at_or_above(confidences, correct, lower).wrong_share > 0.01

    def test_too_few_reads_call_nothing_sure(self) -> None:
        assert choose_sure_threshold([0.99] * 50, [True] * 50) == 1.0

    def test_a_reader_wrong_too_often_everywhere_calls_nothing_sure(self) -> None:
        confidences, correct = overconfident(1000, claimed=0.99, right=0.9)
        assert choose_sure_threshold(confidences, correct) == 1.0


class TestMeasures:
    def test_reliability_bins_and_calibration_error(self) -> None:
        confidences = [0.95] * 10 + [0.55] * 10
        correct = [True] * 9 + [False] + [True] * 5 + [False] * 5
        table = reliability(confidences, correct)
        assert [(b.low, b.reads, b.accuracy) for b in table] == [(0.5, 10, 0.5), (0.9, 10, 0.9)]
        # half the reads off by 0.05 each side
        assert expected_calibration_error(confidences, correct) == pytest.approx(0.05)

    def test_a_confidence_of_one_falls_in_the_last_bin(self) -> None:
        assert reliability([1.0], [True])[0].high == 1.0

    def test_wrong_share_and_coverage_at_a_cut(self) -> None:
        share = at_or_above([0.95, 0.92, 0.91, 0.5], [True, False, True, True], 0.9)
        assert (share.reads, share.wrong, share.coverage) == (3, 1, 0.75)
        assert share.wrong_share == pytest.approx(1 / 3)
        assert at_or_above([0.5], [True], 0.9).wrong_share == 0.0
