"""How a found plate is read: the crops cut around its corners, and one reading joined from theirs.

The reader learnt on axis crops whose sides were each moved -6..+14% of the plate's width and -8..+22% of its
height (`engine/augment.py`, LOOSE), so a detected plate can be cut with more or less margin, straightened by
its polygon or cut by its axis box, and several cuts of one plate can be read and joined. `CANDIDATES` are the
ways scored on the 40 calibration-split photos (`alpr recognizer eval-frames --split calibration --rules`);
`SHIPPED` is the one the rule written in DETECTOR_CARD.md chose there, never on the held-out photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from libs.common.contracts.reads import Box, Point
from libs.common.errors import InvalidInput
from services.recognizer.detector.targets import Quad, box_of, widen
from services.recognizer.engine.crop import crop_box, straighten
from services.recognizer.engine.reader import Reading


def inside(image: Image.Image, points: Sequence[tuple[float, float]]) -> list[Point]:
    """The points pulled onto the frame: a plate cut by the frame's edge is still a plate."""
    return [Point(x=min(max(float(x), 0.0), image.width), y=min(max(float(y), 0.0), image.height)) for x, y in points]


@dataclass(frozen=True)
class PlateCut:
    """One crop of a found plate: straightened along its polygon or cut by its axis box, with a margin.

    The margins grow the plate about its centre by shares of its width and height (half on each side), as
    `targets.widen` does; the training jitter's mean is +8% of the width and +14% of the height in all.
    """

    straightened: bool
    x_margin: float
    y_margin: float

    @property
    def name(self) -> str:
        return f"{'polygon' if self.straightened else 'box'} {self.x_margin:.0%}/{self.y_margin:.0%}"

    def cut(self, image: Image.Image, corners: Quad) -> Image.Image | None:
        """The crop; the axis box where the polygon is degenerate; None where neither can be cut."""
        grown = inside(image, widen(corners, self.x_margin, self.y_margin))
        if self.straightened:
            try:
                return straighten(image, grown)
            except InvalidInput:
                pass  # a polygon folded flat: its box may still hold the plate
        x, y, w, h = box_of([(p.x, p.y) for p in grown])
        try:
            return crop_box(image, Box(x=x, y=y, width=w, height=h))
        except InvalidInput:
            return None


@dataclass(frozen=True)
class ReadingRule:
    """How a found plate is read: which cuts, and how their readings join (`joined`)."""

    cuts: tuple[PlateCut, ...]
    join: Literal["mean", "surest"] = "mean"

    @property
    def name(self) -> str:
        names = " + ".join(cut.name for cut in self.cuts)
        return names if len(self.cuts) == 1 else f"{self.join}({names})"

    def crops(self, image: Image.Image, corners: Quad) -> list[Image.Image]:
        """The crops this rule reads for one plate (fewer where a cut falls outside the frame)."""
        return [crop for crop in (cut.cut(image, corners) for cut in self.cuts) if crop is not None]

    def joined(self, readings: Sequence[Reading]) -> Reading:
        """One reading of the plate from its crops' readings."""
        return joined(readings, self.join)


def joined(readings: Sequence[Reading], how: Literal["mean", "surest"] = "mean") -> Reading:
    """`surest`: the crop read with the highest calibrated confidence. `mean`: each candidate plate scores the
    mean of its calibrated probability over the crops (0 where a crop did not list it), as the reader joins its
    members; the result is sure only where every crop read that plate surely."""
    if not readings:
        return Reading(plate="", confidence=0.0, char_confidences=[])
    if len(readings) == 1 or how == "surest":
        return max(readings, key=lambda r: r.confidence)
    totals: dict[str, float] = {}
    chars: dict[str, list[tuple[float, ...]]] = {}
    for reading in readings:
        for text, probability in reading.candidates:
            totals[text] = totals.get(text, 0.0) + probability / len(readings)
            if text in reading.char_scores:
                chars.setdefault(text, []).append(reading.char_scores[text])
    if not totals:
        return max(readings, key=lambda r: r.confidence)
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)
    char_scores = {text: tuple(float(np.mean(c)) for c in zip(*chars[text], strict=True)) for text in chars}
    plate, confidence = ranked[0]
    return Reading(
        plate=plate,
        confidence=round(confidence, 4),
        char_confidences=[round(p, 4) for p in char_scores.get(plate, ())],
        candidates=[(text, round(p, 4)) for text, p in ranked],
        sure=all(r.plate == plate and r.sure for r in readings),
        raw_confidence=float(np.mean([r.raw_confidence for r in readings if r.plate == plate] or [0.0])),
        char_scores=char_scores,
    )


def _poly(x: float, y: float) -> PlateCut:
    return PlateCut(True, x, y)


# Fixed before the calibration split was scored (DETECTOR_CARD.md, "Reading rule"): single cuts across the
# training jitter, and three ways of joining cuts that span it, each by the mean and by the surest.
CANDIDATES: tuple[ReadingRule, ...] = (
    ReadingRule((_poly(0.08, 0.15),)),  # the rule of centernet-us-1.0's first figures
    ReadingRule((_poly(0.0, 0.0),)),
    ReadingRule((_poly(0.04, 0.08),)),
    ReadingRule((_poly(0.12, 0.20),)),
    ReadingRule((_poly(0.16, 0.30),)),
    ReadingRule((PlateCut(False, 0.08, 0.15),)),
    ReadingRule((_poly(0.0, 0.0), _poly(0.08, 0.15), _poly(0.16, 0.30)), "mean"),
    ReadingRule((_poly(0.04, 0.08), _poly(0.12, 0.20)), "mean"),
    ReadingRule((_poly(0.08, 0.15), PlateCut(False, 0.08, 0.15)), "mean"),
    ReadingRule((_poly(0.0, 0.0), _poly(0.08, 0.15), _poly(0.16, 0.30)), "surest"),
    ReadingRule((_poly(0.04, 0.08), _poly(0.12, 0.20)), "surest"),
    ReadingRule((_poly(0.08, 0.15), PlateCut(False, 0.08, 0.15)), "surest"),
)
# chosen by the card's rule on the calibration split: 38/40 read exactly (the rule before it: 34/40), the mean
# probability of the labelled plate 0.904 (0.823); each plate costs two crops, read in the same reader pass
SHIPPED = CANDIDATES[10]
