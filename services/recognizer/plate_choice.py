"""Which found plate answers a scene read: the one nearest the vendor's text, else the surest.

Pure rules, no I/O. A scene photo may hold several plates (the car ahead, one parked beside); the vendor's
own text says which plate its read is about, so the reading nearest it is our second opinion on that read.
Distance is counted on folded text (O and 0 are one character on California plates and to every reader).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from libs.common.contracts.reads import normalize_plate


@dataclass(frozen=True)
class FoundReading:
    """One detection's reading, as far as choosing between them needs."""

    plate: str
    confidence: float
    detection_score: float

    @property
    def score(self) -> float:
        """How sure the whole finding is: the plate was there, and it reads so."""
        return self.detection_score * self.confidence


def folded(plate: str) -> str:
    """Plate text compared as readers confuse it: upper-cased, separators dropped, letter O as digit zero."""
    return normalize_plate(plate).replace("O", "0")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, one each."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def choose(found: Sequence[FoundReading], hint: str | None) -> int:
    """The index of the reading a scene read is about: nearest `hint` (ties: the surer), else the surest."""
    if not found:
        raise ValueError("nothing found to choose from")
    target = folded(hint) if hint else ""
    if not target:
        return max(range(len(found)), key=lambda i: found[i].score)
    return min(range(len(found)), key=lambda i: (edit_distance(folded(found[i].plate), target), -found[i].score))
