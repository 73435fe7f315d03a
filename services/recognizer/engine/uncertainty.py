"""How far a figure scored on a few dozen plates can be trusted: intervals, and the noise floor of ECE.

The hold-out is 74 photos. A model that reads 67 of them right scores 90.5%, but 74 other photos like them
could as well give 82% or 95%; and with 56 reads at confidence ≥ 0.9, none wrong would still not show
"≤ 1% wrong" (the interval reaches 6.4%). Likewise an expected calibration error measured on 74 reads is
far from 0 even for a perfectly calibrated model: each bin's accuracy is a small sample. These functions
put those limits next to the figures, so a reader of the model card can tell a gap from noise. Every
interval here is a two-sided 95% Wilson interval (a one-sided bound, for "at most", is a little tighter).
Pure, and seeded where random.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from services.recognizer.engine.calibration import bin_members

Z95 = 1.959964  # the normal quantile of a two-sided 95% interval


def wilson_interval(successes: int, trials: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike p ± z·se it stays inside 0–1 and is honest at 0 of n.

    No trials says nothing: (0, 1)."""
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..trials, not {successes} of {trials}")
    return _wilson(successes / trials, trials, z) if trials else (0.0, 1.0)


def _wilson(share: float, trials: float, z: float) -> tuple[float, float]:
    """Wilson's interval for a share seen over `trials` reads (a real number: an effective sample size)."""
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (share + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def clean_reads_needed(max_wrong: float, *, z: float = Z95) -> int:
    """The fewest reads, none of them wrong, whose two-sided 95% Wilson interval stays at or under
    `max_wrong`: 381 for 1% (a one-sided 95% bound would need 268, the exact binomial one 299). A set with
    fewer confident reads cannot show the target by this measure, whatever the model."""
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
) -> CalibratedFloor | None:
    """Simulate a model whose confidences are exactly right: each read is right with probability its
    confidence. The ECE of those outcomes, over `draws` simulations, is the floor a measured ECE on the same
    number of reads at the same confidences cannot be expected to go under. No reads: None (no floor)."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    n = len(confidences)
    if not n:
        return None
    rng = random.Random(seed)
    groups = [[confidences[i] for i in members] for members in bin_members(confidences, bins=bins) if members]
    values = []
    for _ in range(draws):
        error = 0.0
        for group in groups:
            right = sum(rng.random() < p for p in group)
            error += abs(right - sum(group)) / n  # = share of reads × |accuracy − mean confidence|
        values.append(error)
    values.sort()
    return CalibratedFloor(sum(values) / draws, values[math.ceil(0.95 * draws) - 1], draws)


def grouped_share_interval(
    groups: Sequence[Hashable], hits: Sequence[bool], counted: Sequence[bool], *, z: float = Z95
) -> tuple[float, float]:
    """A 95% interval for the share of hits among the counted reads, where reads of one group (the box
    variants or far-camera copies of one photo) are not independent of each other.

    The share is a ratio over groups; its variance is estimated from how the groups' hits stray from the
    share (the ratio estimator of cluster sampling), which gives an effective number of independent reads,
    and Wilson's interval is taken over that. The variance is estimated with one more, imagined group of
    average size and half its reads hits, so that one or two hits cannot pass for no variance at all (a lone
    misread swung the effective count from the groups to the reads, and partly clustered misreads were
    under-covered). With no hit at all, or every read a hit, nothing tells how the hits cluster, and the
    groups count as the reads: one photo misread whole is one observation, not 16. So a lone misread among
    many reads, some evidence that misreads are not clustered, can give a tighter bound than none.

    Coverage of the true share, simulated over 1,500 sets each (40 photos of 16 reads or 74 of 8, shares
    1-10%): 93.6-96.3% where photos are misread whole, 94.5-100% for independent reads, 93.5-97.3% for partly
    clustered ones (a beta-binomial with intra-photo correlation 0.3). Treating 592 variants of 74 photos as 592
    independent reads would claim a far narrower interval."""
    if not len(groups) == len(hits) == len(counted):
        raise ValueError(f"{len(groups)} groups, {len(hits)} hits and {len(counted)} counted flags differ")
    tallies: dict[Hashable, list[int]] = {}
    for group, hit, count in zip(groups, hits, counted, strict=True):
        tally = tallies.setdefault(group, [0, 0])
        if count:
            tally[0] += hit
            tally[1] += 1
    sampled = [(float(h), float(n)) for h, n in tallies.values() if n]
    reads = sum(n for _, n in sampled)
    if not reads:
        return 0.0, 1.0
    share = sum(h for h, _ in sampled) / reads
    if share in (0.0, 1.0):
        return _wilson(share, len(sampled), z)
    average = reads / len(sampled)
    padded = [*sampled, (average / 2, average)]
    m, total = len(padded), reads + average
    padded_share = sum(h for h, _ in padded) / total
    variance = m / (m - 1) * sum((h - padded_share * n) ** 2 for h, n in padded) / total**2
    effective = padded_share * (1 - padded_share) / variance if variance > 0 else len(sampled)
    return _wilson(share, min(max(effective, 1.0), reads), z)


def paired_p_value(only_first: int, only_second: int) -> float:
    """Exact two-sided McNemar (sign) test of two models scored on the same items: of the items exactly one
    of them gets right, is a split this uneven likely if each were as good as the other? Items both get
    right or both get wrong say nothing about which is better, which is why two models on the same 74
    photos are compared this way and not by whether their intervals overlap. 1.0 when nothing differs."""
    if only_first < 0 or only_second < 0:
        raise ValueError("counts of items are never negative")
    n = only_first + only_second
    tail = sum(math.comb(n, k) for k in range(min(only_first, only_second) + 1)) / 2**n
    return min(1.0, 2 * tail)
