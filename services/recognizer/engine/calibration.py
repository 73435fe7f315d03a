"""Honest confidence, as pure functions: temperature scaling, the SURE level, and the measures of calibration.

The network's plate probability (the product of its characters' peak probabilities) is over-confident on
real plates: a misread can carry 0.99. Temperature scaling maps it through the logit,
`sigmoid(logit(p) / T)`, with one `T` fitted by the negative log-likelihood of "the plate was read right";
it is the baseline the calibrator with several inputs (`engine/calibrator.py`) is measured against, and a
special case of it.

`SURE` is a level, not a probability: the lowest confidence at which the calibration reads that confident
were at most 1% wrong (`choose_sure_threshold`), so "sure" means "≤ 1% wrong" as measured, never as
assumed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EPSILON = 1e-6  # keeps logit finite at the rounded probabilities 0 and 1
TEMPERATURES = tuple(round(0.25 * 1.05**k, 4) for k in range(90))  # 0.25 … ~19, a 5% grid
SURE_MAX_WRONG = 0.01  # what SURE promises: at most 1 read in 100 wrong
SURE_MIN_READS = 200  # under 200 reads one misread more moves the share by over 0.5%: no evidence of 1%


def logit(p: float) -> float:
    """log(p / (1 - p)), with p kept off 0 and 1."""
    p = min(max(p, EPSILON), 1.0 - EPSILON)
    return math.log(p / (1.0 - p))


def scale(p: float, temperature: float) -> float:
    """sigmoid(logit(p) / T); T > 1 softens an over-confident probability, T = 1 leaves it."""
    z = logit(p) / temperature
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def negative_log_likelihood(confidences: Sequence[float], correct: Sequence[bool], temperature: float = 1.0) -> float:
    """Mean NLL of the outcomes under the (temperature-scaled) confidences, kept off 0 and 1."""
    total = 0.0
    for p, ok in zip(confidences, correct, strict=True):
        q = min(max(scale(p, temperature) if temperature != 1.0 else p, EPSILON), 1.0 - EPSILON)
        total -= math.log(q if ok else 1.0 - q)
    return total / max(len(confidences), 1)


def fit_temperature(confidences: Sequence[float], correct: Sequence[bool]) -> float:
    """The grid temperature of least NLL (a grid, so the fit is exact to repeat and needs no optimiser)."""
    if not confidences:
        raise ValueError("no readings to fit a temperature on")
    return min(TEMPERATURES, key=lambda t: negative_log_likelihood(confidences, correct, t))


def choose_sure_threshold(
    confidences: Sequence[float],
    correct: Sequence[bool],
    *,
    max_wrong: float = SURE_MAX_WRONG,
    min_reads: int = SURE_MIN_READS,
) -> float:
    """The lowest confidence t at which reads at ≥ t are at most `max_wrong` wrong, over at least `min_reads`.

    That is what SURE promises, and all it promises: of the reads called sure, at most 1 in 100 is wrong.
    A cut with fewer reads above it is no evidence either way; when no cut qualifies the threshold is 1.0
    and nothing is called sure (fail closed).
    """
    pairs = sorted(zip(confidences, correct, strict=True), key=lambda item: item[0], reverse=True)
    threshold = 1.0
    wrong = 0
    for count, (p, ok) in enumerate(pairs, start=1):
        wrong += not ok
        if count < len(pairs) and pairs[count][0] == p:
            continue  # a cut falls between distinct confidences only
        if count >= min_reads and wrong / count <= max_wrong:
            threshold = p
    return threshold


@dataclass(frozen=True)
class Bin:
    """One row of a reliability table: reads whose confidence fell in [low, high)."""

    low: float
    high: float
    reads: int
    mean_confidence: float
    accuracy: float


def bin_members(confidences: Sequence[float], *, bins: int = 10) -> list[list[int]]:
    """The indices of the reads in each of `bins` equal-width bins over 0–1, [low, high), the last one closed
    at 1: the one binning the reliability table, the ECE and its noise floor share."""
    members: list[list[int]] = [[] for _ in range(bins)]
    for i, p in enumerate(confidences):
        if not 0.0 <= p <= 1.0:  # NaN included: a read in no bin would skew every share the bins give
            raise ValueError(f"a confidence is a probability in 0..1, not {p!r}")
        for b in range(bins):
            if b / bins <= p < (b + 1) / bins or (b == bins - 1 and p == 1.0):
                members[b].append(i)
                break
    return members


def reliability(confidences: Sequence[float], correct: Sequence[bool], *, bins: int = 10) -> list[Bin]:
    """Equal-width bins over 0–1 (the last one closed at 1), empty bins left out."""
    if len(confidences) != len(correct):
        raise ValueError(f"{len(confidences)} confidences for {len(correct)} outcomes")
    table = []
    for b, inside in enumerate(bin_members(confidences, bins=bins)):
        if inside:
            table.append(
                Bin(
                    b / bins,
                    (b + 1) / bins,
                    len(inside),
                    sum(confidences[i] for i in inside) / len(inside),
                    sum(correct[i] for i in inside) / len(inside),
                )
            )
    return table


def expected_calibration_error(confidences: Sequence[float], correct: Sequence[bool], *, bins: int = 10) -> float:
    """Σ over bins of (share of reads) × |accuracy − mean confidence|."""
    n = len(confidences)
    if not n:
        return 0.0
    return sum(b.reads / n * abs(b.accuracy - b.mean_confidence) for b in reliability(confidences, correct, bins=bins))


@dataclass(frozen=True)
class SureShare:
    """How reads at or above a confidence cut fare: how many, and how many of them are wrong."""

    threshold: float
    reads: int
    wrong: int
    coverage: float  # reads / all reads
    wrong_share: float  # wrong / reads (0 when no read reached the cut)


def at_or_above(confidences: Sequence[float], correct: Sequence[bool], threshold: float) -> SureShare:
    """The wrong share among reads at confidence ≥ threshold, and their share of all reads."""
    above = [ok for p, ok in zip(confidences, correct, strict=True) if p >= threshold]
    wrong = sum(not ok for ok in above)
    return SureShare(
        threshold,
        len(above),
        wrong,
        len(above) / max(len(confidences), 1),
        wrong / len(above) if above else 0.0,
    )
