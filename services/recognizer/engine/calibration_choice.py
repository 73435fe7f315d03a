"""Choosing the calibrator by cross-validation on the calibration split's photos, never on the hold-out.

The candidates are today's temperature and a logistic regression on the log-odds plus each subset of the
other inputs (`engine/calibrator.py`), fitted on the real calibration crops alone or with the synthetic
ones too. Each is fitted on four fifths of the split's photos and scored on the fifth it did not see (all
crops of a photo in one fold, so a plate never grades itself); the rule that picks one is written in
`docs/recognizer-experiments.md` ("a calibrator with more than one input") and in `choose`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from services.recognizer.engine.calibration import (
    at_or_above,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)
from services.recognizer.engine.calibrator import FEATURES, Calibration, CalibrationInvalid, PlateEvidence, fit_logistic

FOLDS = 5
NLL_TIE = 0.002  # within this of the best out-of-fold NLL, fewer inputs win
HIGH_CONFIDENCE = 0.9  # the cut


@dataclass(frozen=True)
class Candidate:
    """One way to calibrate: its inputs, whether synthetic crops help fit it, or today's temperature."""

    features: tuple[str, ...]
    synthetic: bool = False
    temperature: bool = False

    @property
    def name(self) -> str:
        """How `calibrate` prints and stores it."""
        if self.temperature:
            return "temperature"
        return "+".join(self.features) + (" (real+synthetic)" if self.synthetic else " (real)")


def candidates() -> list[Candidate]:
    """The temperature, then the log-odds with every subset of the other inputs, each without and with synthetic."""
    extras = FEATURES[1:]
    sets = [("log_odds", *combo) for r in range(len(extras) + 1) for combo in combinations(extras, r)]
    return [Candidate(("log_odds",), temperature=True)] + [Candidate(f, s) for f in sets for s in (False, True)]


@dataclass(frozen=True)
class Readings:
    """Reads of labelled crops: the calibrator's inputs (None where nothing was read) and whether each was right."""

    evidence: list[PlateEvidence | None]
    correct: list[bool]

    def subset(self, keep: Sequence[bool]) -> Readings:
        """The reads where `keep` is true."""
        return Readings(
            [e for e, k in zip(self.evidence, keep, strict=True) if k],
            [ok for ok, k in zip(self.correct, keep, strict=True) if k],
        )

    def fittable(self) -> tuple[list[PlateEvidence], list[bool]]:
        """The reads a calibrator speaks for (an empty read is reported at 0 whatever the calibrator)."""
        pairs = [(e, ok) for e, ok in zip(self.evidence, self.correct, strict=True) if e is not None]
        return [e for e, _ in pairs], [ok for _, ok in pairs]


def photo_folds(photos: Sequence[str], *, folds: int = FOLDS) -> list[int]:
    """Each read's fold: photos in the SHA-256 order of their names, dealt round the folds."""
    order = sorted(set(photos), key=lambda name: hashlib.sha256(name.encode()).hexdigest())
    fold_of = {name: i % folds for i, name in enumerate(order)}
    return [fold_of[photo] for photo in photos]


def confidences(calibration: Calibration, evidence: Sequence[PlateEvidence | None]) -> list[float]:
    """The confidences the reader would report (rounded as it rounds; an empty read at 0)."""
    return [0.0 if e is None else round(calibration.confidence(e), 4) for e in evidence]


def fit_candidate(candidate: Candidate, real: Readings, synthetic: Readings) -> Calibration:
    """Fit one candidate on these real reads (and the synthetic ones, weighted to count as much in all)."""
    evidence, correct = real.fittable()
    if candidate.temperature:
        return Calibration.of_temperature(fit_temperature([e.probability for e in evidence], correct))
    weights = [1.0] * len(evidence)
    if candidate.synthetic:
        more, more_correct = synthetic.fittable()
        weights += [len(evidence) / max(len(more), 1)] * len(more)
        evidence, correct = evidence + more, correct + more_correct
    return fit_logistic(evidence, correct, candidate.features, sample_weights=weights)


@dataclass(frozen=True)
class CvResult:
    """A candidate's out-of-fold figures on the real calibration crops."""

    candidate: Candidate
    out_of_fold: tuple[float, ...]
    nll: float
    ece: float
    wrong_share: float  # among reads at confidence >= 0.9
    coverage: float  # share of reads at confidence >= 0.9
    refused: bool = False  # a fold's fit would have confidence fall as the probability rises

    def as_row(self) -> dict[str, object]:
        """The figures `calibrate` prints and stores in the weights' `fitted_on`."""
        return {
            "candidate": self.candidate.name,
            "nll": round(self.nll, 4),
            "ece": round(self.ece, 4),
            "wrong_at_0.9": round(self.wrong_share, 4),
            "coverage_at_0.9": round(self.coverage, 4),
            "refused": self.refused,
        }


def cross_validate(candidate: Candidate, real: Readings, folds: Sequence[int], synthetic: Readings) -> CvResult:
    """Fit on every fold but one, score the one left out; the figures over all real reads out of fold."""
    out_of_fold = [0.0] * len(real.correct)
    for k in sorted(set(folds)):
        try:
            calibration = fit_candidate(candidate, real.subset([f != k for f in folds]), synthetic)
        except CalibrationInvalid:
            return CvResult(candidate, (), math.inf, math.inf, math.inf, 0.0, refused=True)
        held = [i for i, f in enumerate(folds) if f == k]
        for i, p in zip(held, confidences(calibration, [real.evidence[i] for i in held]), strict=True):
            out_of_fold[i] = p
    high = at_or_above(out_of_fold, real.correct, HIGH_CONFIDENCE)
    return CvResult(
        candidate,
        tuple(out_of_fold),
        negative_log_likelihood(out_of_fold, real.correct),
        expected_calibration_error(out_of_fold, real.correct),
        high.wrong_share,
        high.coverage,
    )


def choose(results: Sequence[CvResult]) -> CvResult:
    """The rule written before the first fit: among candidates no worse than the temperature in CV ECE and in
    CV wrong share at >= 0.9, the lowest CV NLL; within NLL_TIE of it, fewest inputs, then real-only data."""
    (baseline,) = [r for r in results if r.candidate.temperature]
    eligible = [r for r in results if not r.refused and r.ece <= baseline.ece and r.wrong_share <= baseline.wrong_share]
    if not eligible:  # the temperature itself could not be fitted on some fold: nothing to choose from
        raise CalibrationInvalid("no calibrator could be fitted on every fold of the calibration split")
    best = min(r.nll for r in eligible)
    near = [r for r in eligible if r.nll <= best + NLL_TIE]
    return min(near, key=lambda r: (len(r.candidate.features), r.candidate.synthetic, r.nll))
