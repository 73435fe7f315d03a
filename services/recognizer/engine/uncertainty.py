"""How far a figure scored on a few dozen plates can be trusted: intervals, and the noise floor of ECE.

The hold-out is 74 photos. A model that reads 67 of them right scores 90.5%, but 74 other photos like them
could as well give 81% or 95%; and with 56 reads at confidence ≥ 0.9, none wrong would still not show
"≤ 1% wrong" (the interval reaches 6.4%). Likewise an expected calibration error measured on 74 reads is
never near 0 even for a perfectly calibrated model: each bin's accuracy is a small sample. These functions
put those limits next to the figures, so a reader of the model card can tell a gap from noise. Pure, and
seeded where random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from services.recognizer.engine.calibration import bin_members

Z95 = 1.959964  # the normal quantile of a two-sided 95% interval


def wilson_interval(successes: int, trials: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike p ± z·se it stays inside 0–1 and is honest at 0 of n.

    No trials says nothing: (0, 1)."""
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..trials, not {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def clean_reads_needed(max_wrong: float, *, z: float = Z95) -> int:
    """The fewest reads, none of them wrong, whose Wilson interval stays at or under `max_wrong`: a set with
    fewer confident reads than this cannot show the target, whatever the model (381 for 1%)."""
    if not 0 < max_wrong < 1:
        raise ValueError(f"max_wrong is a share in (0, 1), not {max_wrong}")
    # the upper end at 0 of n is z²/(n + z²); solve for n, then step past floating-point rounding
    trials = max(1, math.floor(z * z * (1 - max_wrong) / max_wrong))
    while wilson_interval(0, trials, z=z)[1] > max_wrong:
        trials += 1
    return trials


@dataclass(frozen=True)
class CalibratedFloor:
    """The expected calibration error a perfectly calibrated model would show on reads this confident."""

    mean: float
    p95: float  # 95 of 100 such models would show at most this
    draws: int


def ece_if_calibrated(
    confidences: Sequence[float], *, draws: int = 1000, seed: int = 0, bins: int = 10
) -> CalibratedFloor:
    """Simulate a model whose confidences are exactly right: each read is right with probability its
    confidence. The ECE of those outcomes, over `draws` simulations, is the floor a measured ECE on the same
    number of reads at the same confidences cannot be expected to go under."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    n = len(confidences)
    if not n:
        return CalibratedFloor(0.0, 0.0, draws)
    rng = random.Random(seed)
    groups = [[confidences[i] for i in members] for members in bin_members(confidences, bins=bins)]
    groups = [g for g in groups if g]
    values = []
    for _ in range(draws):
        error = 0.0
        for group in groups:
            right = sum(rng.random() < p for p in group)
            error += abs(right - sum(group)) / n  # = share of reads × |accuracy − mean confidence|
        values.append(error)
    values.sort()
    return CalibratedFloor(sum(values) / draws, values[min(draws - 1, math.ceil(0.95 * draws) - 1)], draws)


def grouped_share_interval(
    groups: Sequence[tuple[int, int]], *, draws: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """A 95% interval for a share pooled over groups of reads that are not independent of each other (the
    eight box variants of one photo): whole groups, given as (successes, trials), are drawn with replacement
    and the 2.5th and 97.5th percentiles of the pooled share kept. Treating 592 variants of 74 photos as 592
    independent reads would claim a far narrower interval than the photos can give."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    if any(not 0 <= s <= t for s, t in groups):
        raise ValueError("each group is (successes, trials) with 0 <= successes <= trials")
    if sum(t for _, t in groups) == 0:
        return 0.0, 1.0
    rng = random.Random(seed)
    shares = []
    for _ in range(draws):
        picked = [groups[rng.randrange(len(groups))] for _ in groups]
        trials = sum(t for _, t in picked)
        if trials:  # a draw of groups with no reads at all says nothing; left out
            shares.append(sum(s for s, _ in picked) / trials)
    shares.sort()
    return shares[int(0.025 * (len(shares) - 1))], shares[math.ceil(0.975 * (len(shares) - 1))]
