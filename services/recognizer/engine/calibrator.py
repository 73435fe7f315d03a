"""The confidence calibrator: what the reader knows of a plate, mapped to the probability that it is right.

A logistic regression over a few cheap measures of one candidate plate (`PlateEvidence`): the log-odds of
the members' plate probability, the share of the reading members whose best plate it is, its smallest
character margin, its length and its share of the probability it and its best rival hold. The weight on
the log-odds is positive (checked when fitted and when loaded), so confidence rises with the network's
plate probability when the rest is the same. Today's temperature is the special case of the log-odds
alone with weight 1/T and no intercept, which is how a file calibrated before this reads.

The parameters live in the weights file's `calibration` entry; a malformed one is refused with a typed
error at load, never silently replaced by raw numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

import numpy as np

from services.recognizer.engine.calibration import EPSILON, logit
from services.recognizer.engine.decoding import Decoded
from services.recognizer.engine.weights import WeightsInvalid

FEATURES = ("log_odds", "agreement", "margin", "length", "rival")
L2 = 1.0  # ridge on the standardised weights: a handful of weights on 40 photos' crops must not chase noise


class CalibrationInvalid(WeightsInvalid):
    """The weights file's calibration is malformed: the recognizer refuses to report confidences from it."""

    code = "recognizer_calibration_invalid"


MAX_PARAMETER = 1e4  # far beyond any fit (they are about 1); a stored value past it is not a calibration


@dataclass(frozen=True, slots=True)
class PlateEvidence:
    """What the reader knows of one candidate plate, before calibration."""

    probability: float  # the members' mean plate probability (product of character probabilities)
    agreement: float  # share of the members that read the plate whose best plate this is
    margin: float  # smallest chosen-minus-best-other probability over its characters' peak frames
    length: int
    rival: float  # its probability's share of its own plus the best other candidate's

    def features(self, names: Sequence[str]) -> list[float]:
        """The named measures as numbers, in order."""
        return [self.feature(name) for name in names]

    def feature(self, name: str) -> float:
        """One named measure (only those asked for are computed: the reader asks for each candidate)."""
        if name == "log_odds":
            return logit(self.probability)
        if name == "length":
            return float(self.length)
        value: float = getattr(self, name)
        return value


def evidence_of(decoded: Decoded) -> dict[str, PlateEvidence]:
    """The evidence for every candidate of a decoded reading, and for its plate where it is not one of them."""
    scores = {text: min(score, 1.0) for text, (score, _) in decoded.scored.items()}
    if decoded.plate and decoded.plate not in scores:  # a greedy plate past the length limit
        scores = {decoded.plate: min(decoded.confidence, 1.0), **scores}
    top, second = [*sorted(scores.values(), reverse=True), 0.0, 0.0][:2]
    evidence = {}
    for text, p in scores.items():
        rival = second if p == top else top  # the best other candidate's probability (a tie's is its own)
        evidence[text] = PlateEvidence(
            probability=p,
            agreement=decoded.agreement.get(text, 0.0),
            margin=decoded.margins.get(text, 0.0),
            length=len(text),
            rival=p / (p + rival) if p + rival > 0 else 1.0,
        )
    return evidence


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


@dataclass(frozen=True)
class Calibration:
    """What the weights file carries: the calibrator's features, weights and intercept, and the SURE level."""

    features: tuple[str, ...] = ("log_odds",)
    weights: tuple[float, ...] = (1.0,)  # the default leaves the network's probability as it is
    bias: float = 0.0
    sure_threshold: float = 1.0  # 1.0 when no threshold was measured: nothing is called sure

    def __post_init__(self) -> None:
        problem = _problem(self.features, self.weights, self.bias, self.sure_threshold)
        if problem:
            raise CalibrationInvalid(f"recognizer calibration refused: {problem}")

    @classmethod
    def of_temperature(cls, temperature: float, sure_threshold: float = 1.0) -> Calibration:
        """Temperature scaling, sigmoid(logit(p) / T), as this calibrator."""
        if not (math.isfinite(temperature) and temperature > 0):
            raise CalibrationInvalid(f"recognizer calibration refused: temperature {temperature!r}")
        return cls(("log_odds",), (1.0 / temperature,), 0.0, sure_threshold)

    def confidence(self, evidence: PlateEvidence) -> float:
        """The calibrated probability that the plate is right."""
        z = self.bias
        for name, weight in zip(self.features, self.weights, strict=True):
            z += weight * evidence.feature(name)
        return _sigmoid(z)

    def is_sure(self, confidence: float) -> bool:
        """At or above the SURE level; never when no level was measured (a rounded 1.0 included)."""
        return self.sure_threshold < 1.0 and confidence >= self.sure_threshold

    def with_sure(self, sure_threshold: float) -> Calibration:
        """The same calibrator with this SURE level."""
        return Calibration(self.features, self.weights, self.bias, sure_threshold)

    def as_meta(self) -> dict[str, object]:
        """What the weights file stores (`from_meta` reads it back)."""
        return {
            "features": list(self.features),
            "weights": list(self.weights),
            "bias": self.bias,
            "sure_threshold": self.sure_threshold,
        }

    def canonical(self) -> dict[str, object] | None:
        """What decides the confidences, spelt one way for one behaviour (feature order, 0 or 0.0, the old
        temperature format, the fit's own records all aside); None for the identity, which changes nothing."""
        if self == Calibration():
            return None
        weights = dict(sorted(zip(self.features, self.weights, strict=True)))
        return {"weights": weights, "bias": self.bias, "sure": self.sure_threshold}

    @classmethod
    def from_meta(cls, meta: object) -> Calibration:
        """Read the weights' calibration: none gives raw numbers and no SURE; a malformed one is refused."""
        if meta is None:
            return cls()
        if not isinstance(meta, Mapping):
            raise CalibrationInvalid("recognizer calibration refused: not a mapping")
        threshold = meta.get("sure_threshold")
        if "features" not in meta and "temperature" in meta:  # written before the calibrator had inputs
            temperature = meta.get("temperature")
            if not _number(temperature) or not _number(threshold):
                raise CalibrationInvalid("recognizer calibration refused: temperature or SURE level is not a number")
            return cls.of_temperature(float(temperature), float(threshold))
        features, weights, bias = meta.get("features"), meta.get("weights"), meta.get("bias")
        if not (isinstance(features, list) and all(isinstance(f, str) for f in features)):
            raise CalibrationInvalid("recognizer calibration refused: features are not a list of names")
        if not (isinstance(weights, list) and all(_number(w) for w in weights)):
            raise CalibrationInvalid("recognizer calibration refused: weights are not a list of numbers")
        if not _number(bias) or not _number(threshold):
            raise CalibrationInvalid("recognizer calibration refused: intercept or SURE level is not a number")
        return cls(tuple(features), tuple(float(w) for w in weights), float(bias), float(threshold))


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _problem(features: Sequence[str], weights: Sequence[float], bias: float, sure: float) -> str | None:
    """Why these parameters cannot calibrate anything, or None."""
    if len(features) != len(weights) or not features:
        return "one weight per feature, at least one"
    if len(set(features)) != len(features) or any(f not in FEATURES for f in features):
        return f"features must be distinct names from {FEATURES}"
    if "log_odds" not in features or weights[list(features).index("log_odds")] <= 0:
        return "confidence must rise with the plate probability (a positive log-odds weight)"
    # every feature is bounded (log-odds by logit's clip, length by the plate), so bounded parameters keep the
    # sum finite: huge finite ones would add to inf - inf, and a NaN confidence is no confidence
    if not all(math.isfinite(v) and abs(v) <= MAX_PARAMETER for v in (*weights, bias)):
        return f"weights and intercept must be finite and at most {MAX_PARAMETER:g} in size"
    if not (math.isfinite(sure) and 0.0 <= sure <= 1.0):
        return "the SURE level must lie in [0, 1]"
    return None


def fit_logistic(
    evidence: Sequence[PlateEvidence],
    correct: Sequence[bool],
    features: Sequence[str],
    *,
    sample_weights: Sequence[float] | None = None,
    l2: float = L2,
) -> Calibration:
    """The L2-regularised logistic regression of "read right" on the named features (Newton steps: exact to
    repeat, no optimiser state). Refuses a fit whose confidence would fall as the plate probability rises."""
    if not evidence or (sample_weights is not None and not sum(sample_weights) > 0):
        raise CalibrationInvalid("no readings to fit a calibration on")
    x = np.array([e.features(features) for e in evidence], dtype=np.float64)
    y = np.array(correct, dtype=np.float64)
    s = np.ones(len(y)) if sample_weights is None else np.asarray(sample_weights, dtype=np.float64)
    mean = (s @ x) / s.sum()
    scale = np.sqrt((s @ (x - mean) ** 2) / s.sum())
    scale[scale < 1e-9] = 1.0  # a constant feature: its weight stays 0 under the ridge
    z = np.hstack([np.ones((len(y), 1)), (x - mean) / scale])
    beta = np.zeros(z.shape[1])
    ridge = np.full(z.shape[1], l2)
    ridge[0] = 0.0  # the intercept is not shrunk
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ beta, -50, 50)))
        gradient = z.T @ (s * (p - y)) + ridge * beta
        hessian = (z * (s * np.clip(p * (1 - p), EPSILON, None))[:, None]).T @ z + np.diag(ridge)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    weights = beta[1:] / scale
    bias = float(beta[0] - weights @ mean)
    return Calibration(tuple(features), tuple(float(w) for w in weights), bias)
