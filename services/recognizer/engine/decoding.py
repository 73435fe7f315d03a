"""CTC decoding: the greedy plate, per-character confidences and ranked candidates, as pure functions.

An ensemble's members are decoded one by one and combined at the level of whole plate strings
(`combine_members`): separately trained CTC networks put their peaks on different frames, so averaging
their per-frame probabilities blurs both readings, while each member's candidate list is comparable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

import numpy as np

from services.recognizer.engine.model import ALPHABET, BLANK, MAX_PLATE_LEN


class CharSlot(NamedTuple):
    """One character the greedy path emitted, with the alternatives seen at its most confident frame.

    A named tuple, not a dataclass: a batch makes hundreds, and a tuple is built several times faster."""

    char: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]  # ("", p) means "this character is not there"


@dataclass(frozen=True)
class Decoded:
    plate: str
    confidence: float
    char_confidences: list[float]
    candidates: list[tuple[str, float]]
    # every candidate's unrounded score and per-character probabilities, for combining members
    scored: dict[str, tuple[float, tuple[float, ...]]] = field(default_factory=dict, compare=False)
    # what the calibration reads besides the score (`engine/calibrator.py`): each candidate's smallest
    # character margin, and the share of the reading members whose best plate it is
    margins: dict[str, float] = field(default_factory=dict, compare=False)
    agreement: dict[str, float] = field(default_factory=dict, compare=False)


MIN_ALTERNATIVE = 0.02  # an option less likely than this at a character's peak frame is not a candidate's
LABELS = ("", *ALPHABET)  # each class's character; the blank's is "" ("this character is not there")


def greedy_slots(probs: np.ndarray, *, min_alternative: float = MIN_ALTERNATIVE) -> list[CharSlot]:
    """Collapse the best path (T x classes probabilities) into character slots.

    The plain form of `batch_slots`, one plate at a time; tests hold the batched form to it."""
    best = probs.argmax(axis=1)
    slots: list[CharSlot] = []
    t, frames = 0, len(best)
    while t < frames:
        cls = int(best[t])
        end = t
        while end + 1 < frames and best[end + 1] == cls:
            end += 1
        if cls != BLANK:
            peak = t + int(probs[t : end + 1, cls].argmax())
            slots.append(_slot(probs[peak], cls, min_alternative))
        t = end + 1
    return slots


def _slot(frame: np.ndarray, cls: int, min_alternative: float) -> CharSlot:
    order = np.argsort(frame)[::-1][:4]
    alternatives = tuple(
        ("" if int(c) == BLANK else ALPHABET[int(c) - 1], float(frame[c]))
        for c in order
        if int(c) != cls and frame[c] >= min_alternative
    )
    return CharSlot(ALPHABET[cls - 1], float(frame[cls]), alternatives)


def rank_candidates(slots: list[CharSlot], *, top_n: int = 10) -> list[tuple[str, float]]:
    """Best-first plates formed by swapping or dropping characters, scored by the product of their probabilities."""
    return _published(_scored_candidates(slots, top_n=top_n))


def _published(scored: dict[str, tuple[float, tuple[float, ...]]]) -> list[tuple[str, float]]:
    """The candidates as readings carry them: best first, probabilities capped at 1 and rounded."""
    return [(text, round(min(score, 1.0), 4)) for text, (score, _) in scored.items()]


Scored = dict[str, tuple[float, tuple[float, ...]]]


def _scored_candidates(slots: list[CharSlot], *, top_n: int) -> Scored:
    """Best-first candidate plates, each with its score and the probability of each of its characters."""
    return _candidates_with_margins(slots, top_n=top_n)[0]


_SCORE = itemgetter(1)  # a beam's score; a stable sort on it keeps equal beams in the order they were made


def _candidates_with_margins(slots: list[CharSlot], *, top_n: int) -> tuple[Scored, dict[str, float]]:
    """The candidates, and for each the smallest margin of its choices: at each character's peak frame, the
    chosen option's probability less the best other option's (negative where it took an alternative)."""
    beams: list[tuple[str, float, tuple[float, ...], float]] = [("", 1.0, (), 1.0)]
    for slot in slots:
        options = ((slot.char, slot.confidence), *slot.alternatives)
        # the best other option: the runner-up for the peak's own character, the peak for an alternative
        runner_up = slot.alternatives[0][1] if slot.alternatives else 0.0
        expanded = [
            (
                text + ch,
                score * p,
                (*chars, p) if ch else chars,
                min(margin, p - (runner_up if k == 0 else slot.confidence)),
            )
            for text, score, chars, margin in beams
            for k, (ch, p) in enumerate(options)
        ]
        expanded.sort(key=_SCORE, reverse=True)
        beams = expanded[: top_n * 2]
    merged: dict[str, tuple[float, tuple[float, ...], float]] = {}
    for text, score, chars, margin in beams:
        if text and len(text) <= MAX_PLATE_LEN and score > merged.get(text, (0.0, (), 0.0))[0]:
            merged[text] = (score, chars, margin)
    ranked = sorted(merged.items(), key=lambda item: item[1][0], reverse=True)[:top_n]
    return {text: (score, chars) for text, (score, chars, _) in ranked}, {text: m for text, (_, _, m) in ranked}


def batch_slots(probs: np.ndarray, *, min_alternative: float = MIN_ALTERNATIVE) -> list[list[CharSlot]]:
    """`greedy_slots` of every plate of an (N x T x classes) batch, the same slots, found for the whole batch
    in numpy: the best path's runs, each run's first most probable frame (where argmax finds it), and the
    ranked options at the peaks of the runs that are characters."""
    plates, frames, classes = probs.shape
    flat = probs.reshape(plates * frames, classes)
    best = flat.argmax(axis=1)
    best_probs = flat[np.arange(len(best)), best]
    # a run starts at each plate's first frame and wherever the best class changes
    starts = np.ones(len(best), dtype=bool)
    starts[1:] = best[1:] != best[:-1]
    starts[::frames] = True
    run = np.cumsum(starts) - 1
    at_max = np.flatnonzero(best_probs == np.maximum.reduceat(best_probs, np.flatnonzero(starts))[run])
    first = np.ones(len(at_max), dtype=bool)
    first[1:] = run[at_max[1:]] != run[at_max[:-1]]
    peaks = at_max[first]
    peaks = peaks[best[peaks] != BLANK]
    slots = _slots(flat[peaks], best[peaks].tolist(), min_alternative)
    out, k = [], 0
    for count in np.bincount(peaks // frames, minlength=plates).tolist():
        out.append(slots[k : k + count])
        k += count
    return out


def _slots(frames: np.ndarray, classes: list[int], min_alternative: float) -> list[CharSlot]:
    """`_slot` of each (peak frame, class) at once: the same argsort, best four, and threshold, the last
    compared in the frames' own precision as `_slot` compares one frame's numbers."""
    order = np.argsort(frames, axis=1)[:, ::-1][:, :4]
    ranked = np.take_along_axis(frames, order, axis=1)
    kept = (ranked >= min_alternative).tolist()
    own = np.take_along_axis(frames, np.array(classes, dtype=np.intp).reshape(-1, 1), axis=1)[:, 0].tolist()
    return [
        CharSlot(
            LABELS[cls],
            p,
            tuple((LABELS[c], q) for c, q, keep in zip(options, chances, keeps, strict=True) if c != cls and keep),
        )
        for cls, p, options, chances, keeps in zip(classes, own, order.tolist(), ranked.tolist(), kept, strict=True)
    ]


def decode_batch(probs: np.ndarray, *, top_n: int = 10) -> list[Decoded]:
    """`decode` of every plate of an (N x T x classes) batch, found with `batch_slots`."""
    return [_decoded(slots, top_n) for slots in batch_slots(probs)]


def decode(probs: np.ndarray, *, top_n: int = 10) -> Decoded:
    """Read one plate from its (T x classes) probabilities."""
    return _decoded(greedy_slots(probs), top_n)


def _decoded(slots: list[CharSlot], top_n: int) -> Decoded:
    """The plate, its confidences and its candidates from its character slots."""
    plate = "".join(s.char for s in slots)
    char_confidences = [round(s.confidence, 4) for s in slots]
    # the product of the unrounded confidences, in the candidates' order, so the plate and its first
    # candidate carry the same score (a product of rounded values could differ in the last digit)
    confidence = math.prod(s.confidence for s in slots) if slots else 0.0
    scored, margins = _candidates_with_margins(slots, top_n=top_n)
    return Decoded(
        plate,
        round(min(confidence, 1.0), 4),
        char_confidences,
        _published(scored),
        scored,
        margins,
        {plate: 1.0} if plate else {},
    )


def combine_members(members: list[Decoded], *, top_n: int = 10) -> Decoded:
    """One reading from several members': each plate string scores the mean of its probability across members.

    A member that did not list a string gives it 0, so a plate one member is unsure of can still win when the
    others agree on it. The characters' confidences are the mean over the members that listed the plate.
    """
    if len(members) == 1:
        return members[0]
    totals: dict[str, float] = {}
    chars: dict[str, list[tuple[float, ...]]] = {}
    margins: dict[str, list[float]] = {}
    for member in members:
        for text, (score, probs) in member.scored.items():
            totals[text] = totals.get(text, 0.0) + score / len(members)
            chars.setdefault(text, []).append(probs)
            margins.setdefault(text, []).append(member.margins.get(text, 0.0))
    if not totals:
        return Decoded("", 0.0, [], [])
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:top_n]
    scored = {text: (score, tuple(_mean(c) for c in zip(*chars[text], strict=True))) for text, score in ranked}
    candidates = _published(scored)
    plate, confidence = candidates[0]
    best = [member.plate for member in members]
    return Decoded(
        plate,
        confidence,
        [round(p, 4) for p in scored[plate][1]],
        candidates,
        scored,
        {text: _mean(margins[text]) for text in scored},
        {text: best.count(text) / len(members) for text in scored},
    )


def _mean(values: Sequence[float]) -> float:
    """The mean exactly as `np.mean` gives it, without numpy's cost on a handful of numbers: numpy adds fewer
    than 8 numbers one after another to 0.0, as this does (8 or more it adds pairwise, so it is asked)."""
    if len(values) >= 8:
        return float(np.mean(values))
    total = 0.0
    for value in values:
        total += value
    return total / len(values)
