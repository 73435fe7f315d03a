"""CTC decoding: the greedy plate, per-character confidences and ranked candidates, as pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    beams: list[tuple[str, float]] = [("", 1.0)]
    for slot in slots:
        options = ((slot.char, slot.confidence), *slot.alternatives)
        expanded = [(text + ch, score * p) for text, score in beams for ch, p in options]
        expanded.sort(key=lambda item: item[1], reverse=True)
        beams = expanded[: top_n * 2]
    merged: dict[str, float] = {}
    for text, score in beams:
        if text and len(text) <= MAX_PLATE_LEN:
            merged[text] = max(score, merged.get(text, 0.0))
    ranked = sorted(merged.items(), key=lambda item: item[1], reverse=True)
    return [(text, round(min(score, 1.0), 4)) for text, score in ranked[:top_n]]


def decode(probs: np.ndarray, *, top_n: int = 10) -> Decoded:
    """Read one plate from its (T x classes) probabilities."""
    slots = greedy_slots(probs)
    plate = "".join(s.char for s in slots)
    char_confidences = [round(s.confidence, 4) for s in slots]
    # the product of the unrounded confidences, in the candidates' order, so the plate and its first
    # candidate carry the same score (a product of rounded values could differ in the last digit)
    confidence = math.prod(s.confidence for s in slots) if slots else 0.0
    return Decoded(plate, round(min(confidence, 1.0), 4), char_confidences, rank_candidates(slots, top_n=top_n))
