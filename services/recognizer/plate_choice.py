"""Which found plate answers a scene read: the one nearest the vendor's text, else the surest.

A scene photo may hold several plates (the car ahead, one parked beside); the vendor's own text says which
plate its read is about, so the reading nearest it is our second opinion on that read. Distance is the
reader's own measure (`engine.evaluate.edit_ops`) on folded text: O and 0 are one glyph on many US plates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from libs.common.contracts.reads import normalize_plate
from services.recognizer.engine.evaluate import edit_ops
from services.recognizer.engine.model import fold_plate


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
    return fold_plate(normalize_plate(plate))


def distance(plate: str, hint: str) -> int:
    """Insertions, deletions and substitutions between two plates' folded texts."""
    return edit_ops(folded(hint), folded(plate))[0]


def choose(found: Sequence[FoundReading], hint: str | None) -> int:
    """The index of the reading a scene read is about: nearest `hint` (ties: the surer), else the surest."""
    if not found:
        raise ValueError("nothing found to choose from")
    if not hint or not folded(hint):
        return max(range(len(found)), key=lambda i: found[i].score)
    return min(range(len(found)), key=lambda i: (distance(found[i].plate, hint), -found[i].score))
