"""CTC decoding: the greedy plate, per-character confidences and ranked candidates, as pure functions.

An ensemble's members are decoded one by one and combined at the level of whole plate strings
(`combine_members`): separately trained CTC networks put their peaks on different frames, so averaging
their per-frame probabilities blurs both readings, while each member's candidate list is comparable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from services.recognizer.engine.model import ALPHABET, BLANK, MAX_PLATE_LEN


@dataclass(frozen=True)
class CharSlot:
    """One character the greedy path emitted, with the alternatives seen at its most confident frame."""

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


def greedy_slots(probs: np.ndarray, *, min_alternative: float = 0.02) -> list[CharSlot]:
    """Collapse the best path (T x classes probabilities) into character slots."""
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
        expanded.sort(key=lambda item: item[1], reverse=True)
        beams = expanded[: top_n * 2]
    merged: dict[str, tuple[float, tuple[float, ...], float]] = {}
    for text, score, chars, margin in beams:
        if text and len(text) <= MAX_PLATE_LEN and score > merged.get(text, (0.0, (), 0.0))[0]:
            merged[text] = (score, chars, margin)
    ranked = sorted(merged.items(), key=lambda item: item[1][0], reverse=True)[:top_n]
    return {text: (score, chars) for text, (score, chars, _) in ranked}, {text: m for text, (_, _, m) in ranked}


def decode(probs: np.ndarray, *, top_n: int = 10) -> Decoded:
    """Read one plate from its (T x classes) probabilities."""
    slots = greedy_slots(probs)
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
    scored = {text: (score, tuple(float(np.mean(c)) for c in zip(*chars[text], strict=True))) for text, score in ranked}
    candidates = _published(scored)
    plate, confidence = candidates[0]
    best = [member.plate for member in members]
    return Decoded(
        plate,
        confidence,
        [round(p, 4) for p in scored[plate][1]],
        candidates,
        scored,
        {text: float(np.mean(margins[text])) for text in scored},
        {text: best.count(text) / len(members) for text in scored},
    )
