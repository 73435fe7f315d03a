"""The calibrator with several inputs: its evidence, its fit, what it reports, and the parameters it refuses."""

from __future__ import annotations

import math
import random

import pytest

from services.recognizer.engine.calibration import fit_temperature, negative_log_likelihood, scale
from services.recognizer.engine.calibrator import (
    FEATURES,
    Calibration,
    CalibrationInvalid,
    PlateEvidence,
    evidence_of,
    fit_logistic,
)
from services.recognizer.engine.decoding import Decoded


def evidence(p: float, *, agreement: float = 1.0, margin: float = 0.9, length: int = 7, rival: float = 1.0):
    return PlateEvidence(p, agreement, margin, length, rival)


def margin_tells(n: int, *, seed: int = 0) -> tuple[list[PlateEvidence], list[bool]]:
    """Reads at high probability whose small margins are the wrong ones: what a temperature cannot see."""
    rng = random.Random(seed)
    reads, right = [], []
    for _ in range(n):
        p = rng.uniform(0.85, 0.999)
        narrow = rng.random() < 0.2
        reads.append(evidence(p, margin=rng.uniform(0.0, 0.3) if narrow else rng.uniform(0.7, 1.0)))
        right.append(rng.random() < (0.5 if narrow else 0.99))
    return reads, right


ALL = Calibration(FEATURES, (0.8, 1.5, 2.0, -0.1, 0.5), -1.0, 0.9)


class TestConfidence:
    def test_bounded_and_rising_with_the_plate_probability_when_the_rest_is_the_same(self) -> None:
        probabilities = [0.0, 1e-9, 0.01, 0.3, 0.5, 0.9, 0.999, 1.0]
        for calibration in (ALL, Calibration(), Calibration.of_temperature(1.3)):
            values = [calibration.confidence(evidence(p, margin=0.2, length=3)) for p in probabilities]
            assert all(0.0 <= v <= 1.0 for v in values)
            assert values == sorted(values)

    def test_the_default_leaves_the_probability_and_a_temperature_is_temperature_scaling(self) -> None:
        assert Calibration().confidence(evidence(0.83)) == pytest.approx(0.83)
        assert Calibration.of_temperature(1.7).confidence(evidence(0.97)) == pytest.approx(scale(0.97, 1.7))

    def test_deterministic(self) -> None:
        reads, right = margin_tells(500)
        first = fit_logistic(reads, right, ("log_odds", "margin"))
        assert fit_logistic(reads, right, ("log_odds", "margin")) == first

    def test_without_a_measured_level_even_a_certain_read_is_not_sure(self) -> None:
        assert not Calibration().is_sure(1.0)
        sure = Calibration.of_temperature(1.0, 0.93)
        assert sure.is_sure(0.93) and not sure.is_sure(0.929)


class TestFit:
    def test_a_margin_that_tells_misreads_apart_beats_a_temperature(self) -> None:
        reads, right = margin_tells(2000)
        fitted = fit_logistic(reads, right, ("log_odds", "margin"))
        assert dict(zip(fitted.features, fitted.weights, strict=True))["margin"] > 0
        test, test_right = margin_tells(2000, seed=1)
        temperature = Calibration.of_temperature(fit_temperature([e.probability for e in reads], right))
        nll = {c: negative_log_likelihood([c.confidence(e) for e in test], test_right) for c in (fitted, temperature)}
        assert nll[fitted] < nll[temperature] - 0.02
        # a narrow read is no longer called 0.95
        assert fitted.confidence(evidence(0.99, margin=0.1)) < 0.8 < fitted.confidence(evidence(0.99, margin=0.95))

    def test_sample_weights_count(self) -> None:
        reads, right = margin_tells(400)
        doubled = fit_logistic(reads + reads, right + right, ("log_odds", "margin"))
        weighted = fit_logistic(reads, right, ("log_odds", "margin"), sample_weights=[2.0] * len(reads))
        assert weighted.weights == pytest.approx(doubled.weights) and weighted.bias == pytest.approx(doubled.bias)

    def test_a_fit_whose_confidence_would_fall_as_the_probability_rises_is_refused(self) -> None:
        rng = random.Random(4)
        reads = [evidence(rng.uniform(0.01, 0.99)) for _ in range(400)]
        right = [e.probability < 0.5 for e in reads]  # the surer the network, the more often wrong
        with pytest.raises(CalibrationInvalid):
            fit_logistic(reads, right, ("log_odds",))

    def test_nothing_to_fit_is_refused(self) -> None:
        with pytest.raises(CalibrationInvalid):
            fit_logistic([], [], ("log_odds",))


class TestStoredParameters:
    def test_round_trip(self) -> None:
        assert Calibration.from_meta(ALL.as_meta()) == ALL

    def test_a_file_without_a_calibration_reads_raw_and_calls_nothing_sure(self) -> None:
        assert Calibration.from_meta(None) == Calibration()

    def test_a_temperature_written_before_the_calibrator_had_inputs_still_reads(self) -> None:
        legacy = Calibration.from_meta({"temperature": 1.25, "sure_threshold": 0.89, "fitted_on": {}})
        assert legacy == Calibration.of_temperature(1.25, 0.89)

    @pytest.mark.parametrize(
        "meta",
        [
            "x",
            {"temperature": -1, "sure_threshold": 0.9},
            {"temperature": 1.2},
            {"temperature": True, "sure_threshold": 0.9},
            {**ALL.as_meta(), "features": ["log_odds", "colour"], "weights": [1.0, 1.0]},
            {**ALL.as_meta(), "features": ["margin"], "weights": [1.0]},
            {**ALL.as_meta(), "weights": [-0.8, 1.5, 2.0, -0.1, 0.5]},  # falls as the probability rises
            {**ALL.as_meta(), "weights": [0.8, math.nan, 2.0, -0.1, 0.5]},
            {**ALL.as_meta(), "weights": [0.8, 1.5]},
            {**ALL.as_meta(), "weights": "0.8"},
            {**ALL.as_meta(), "bias": math.inf},
            # finite, but they would add to inf - inf: a NaN confidence
            {**ALL.as_meta(), "weights": [1e308, 1.5, 2.0, -0.1, 0.5], "bias": -1e308},
            {**ALL.as_meta(), "sure_threshold": 1.5},
            {**ALL.as_meta(), "features": ["log_odds", "log_odds"], "weights": [1.0, 1.0]},
        ],
    )
    def test_malformed_parameters_are_refused_typed(self, meta: object) -> None:
        with pytest.raises(CalibrationInvalid) as err:
            Calibration.from_meta(meta)
        assert err.value.code == "recognizer_calibration_invalid"


class TestEvidence:
    def test_each_candidate_gets_its_own(self) -> None:
        decoded = Decoded(
            "8X1",
            0.6,
            [0.6, 1.0, 1.0],
            [("8X1", 0.6), ("BX1", 0.3)],
            {"8X1": (0.6, (0.6, 1.0, 1.0)), "BX1": (0.3, (0.3, 1.0, 1.0))},
            {"8X1": 0.3, "BX1": -0.3},
            {"8X1": 2 / 3, "BX1": 1 / 3},
        )
        found = evidence_of(decoded)
        assert found["8X1"] == PlateEvidence(0.6, 2 / 3, 0.3, 3, 0.6 / (0.6 + 0.3))
        assert found["BX1"] == PlateEvidence(0.3, 1 / 3, -0.3, 3, 0.3 / (0.3 + 0.6))

    def test_a_plate_past_the_length_limit_is_judged_too(self) -> None:
        decoded = Decoded("ABCDEFGHIJK", 0.5, [], [("ABCDEFGHIJ", 0.2)], {"ABCDEFGHIJ": (0.2, ())}, {}, {})
        plate = evidence_of(decoded)["ABCDEFGHIJK"]
        assert (plate.probability, plate.length, plate.margin, plate.rival) == (0.5, 11, 0.0, pytest.approx(0.5 / 0.7))
