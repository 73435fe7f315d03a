"""Choosing the calibrator: folds by photo, the candidates, cross-validation and the rule written before it ran."""

from __future__ import annotations

import random

import pytest

from services.recognizer.engine.calibration_choice import (
    Candidate,
    CvResult,
    Readings,
    candidates,
    choose,
    cross_validate,
    photo_folds,
)
from services.recognizer.engine.calibrator import CalibrationInvalid, PlateEvidence


def photos_of(count: int, crops_each: int) -> list[str]:
    return [f"photo{i:02d}.jpg" for i in range(count) for _ in range(crops_each)]


def result(features: tuple[str, ...], *, nll: float, ece: float, wrong: float, synthetic: bool = False) -> CvResult:
    temperature = features == ()
    candidate = Candidate(("log_odds",), temperature=True) if temperature else Candidate(features, synthetic)
    return CvResult(candidate, (), nll, ece, wrong, 0.7)


class TestFolds:
    def test_every_crop_of_a_photo_shares_its_fold_and_the_folds_are_even(self) -> None:
        photos = photos_of(40, 16)
        folds = photo_folds(photos)
        by_photo: dict[str, set[int]] = {}
        for photo, fold in zip(photos, folds, strict=True):
            by_photo.setdefault(photo, set()).add(fold)
        assert all(len(f) == 1 for f in by_photo.values())
        assert sorted(folds.count(k) for k in range(5)) == [128] * 5
        assert photo_folds(list(reversed(photos))) == list(reversed(folds))  # by name, not by order


class TestCandidates:
    def test_the_temperature_and_every_subset_of_inputs_with_and_without_synthetic(self) -> None:
        found = candidates()
        assert found[0].temperature and len(found) == 33
        assert len({c.name for c in found}) == 33
        assert all(c.features[0] == "log_odds" for c in found)


class TestRule:
    def test_the_lowest_nll_among_those_no_worse_than_the_temperature(self) -> None:
        temperature = result((), nll=0.30, ece=0.03, wrong=0.03)
        better = result(("log_odds", "margin"), nll=0.25, ece=0.02, wrong=0.02)
        lower_nll_but_more_confident_misreads = result(("log_odds", "rival"), nll=0.20, ece=0.02, wrong=0.04)
        assert choose([temperature, better, lower_nll_but_more_confident_misreads]) is better

    def test_fewer_inputs_win_a_near_tie_and_real_data_wins_a_tie_of_inputs(self) -> None:
        temperature = result((), nll=0.30, ece=0.03, wrong=0.03)
        two = result(("log_odds", "margin"), nll=0.2505, ece=0.02, wrong=0.02)
        three = result(("log_odds", "margin", "length"), nll=0.2500, ece=0.02, wrong=0.02)
        two_synthetic = result(("log_odds", "margin"), nll=0.2490, ece=0.02, wrong=0.02, synthetic=True)
        assert choose([temperature, three, two_synthetic, two]) is two

    def test_the_temperature_stays_when_nothing_beats_it(self) -> None:
        temperature = result((), nll=0.30, ece=0.03, wrong=0.03)
        worse = result(("log_odds", "margin"), nll=0.25, ece=0.04, wrong=0.02)
        assert choose([worse, temperature]) is temperature

    def test_no_candidate_fitted_on_every_fold_is_a_typed_refusal(self) -> None:
        refused = CvResult(Candidate(("log_odds",), temperature=True), (), float("inf"), 1.0, 1.0, 0.0, refused=True)
        with pytest.raises(CalibrationInvalid):
            choose([refused])


class TestCrossValidation:
    def test_scores_each_photo_by_a_fit_that_never_saw_it(self) -> None:
        rng = random.Random(0)
        photos = photos_of(40, 8)
        evidence: list[PlateEvidence | None] = []
        correct = []
        for i in range(len(photos)):
            narrow = rng.random() < 0.2
            margin = rng.uniform(0, 0.3) if narrow else rng.uniform(0.7, 1)
            p = rng.uniform(0.5, 0.999)
            evidence.append(None if i == 0 else PlateEvidence(p, 1.0, margin, 7, 1.0))
            correct.append(rng.random() < (0.4 * p if narrow else p))
        real, none = Readings(evidence, correct), Readings([], [])
        folds = photo_folds(photos)
        with_margin = cross_validate(Candidate(("log_odds", "margin")), real, folds, none)
        temperature = cross_validate(Candidate(("log_odds",), temperature=True), real, folds, none)
        assert len(with_margin.out_of_fold) == len(photos) and with_margin.out_of_fold[0] == 0.0  # empty read: 0
        assert with_margin.nll < temperature.nll
        assert choose([temperature, with_margin]) is with_margin
