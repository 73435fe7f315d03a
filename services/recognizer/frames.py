"""Finding the plates of a photograph: decode it, detect, cut each plate out straightened, read each crop.

Detection and reading each go through a micro-batcher, so concurrent photographs share forward passes; both
batchers run on one inference thread (`app.py`), so a detector pass and a reader pass never fight for the
two cores. The reader answers per crop, so one photograph's plates are read in one batch with whatever
other crops arrive meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from libs.common.contracts.reads import Box, Point
from libs.common.errors import InvalidInput
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.crop import MAX_IMAGE_PIXELS, crop_box, decode_image, straighten
from services.recognizer.engine.reader import Reading

if TYPE_CHECKING:
    from services.recognizer.detector import Detection, PlateDetector

# what a camera sends a photograph as (libs/common/images.py keeps the same three)
FRAME_FORMATS = ("JPEG", "PNG", "WEBP")

StatePrior = Callable[[Reading, str | None], Reading]

# A detection becomes a plate (and so a stored read, matched against the hotlists) only when what it reads
# looks like one. The detector also fires on signs, badges and lights (DETECTOR_CARD.md: 24 of the 27 other
# detections on the held-out photos were not plates) and the reader then reads text such as `GAU9X` off a
# CAUTION sign or `6`, `G`, `III1` off a grille. Both bounds are a policy, not tuned on any photo:
MIN_PLATE_CHARS = 2  # a one-character vanity plate exists, but far more single characters are not plates
READ_FLOOR = 0.5  # calibrated: a reading under it is more likely wrong than right, not a read to store


@dataclass(frozen=True)
class FoundPlate:
    """A plate the detector found (in the photograph's pixels, inside its frame) and what it reads."""

    box: Box
    polygon: list[Point]  # TL, TR, BR, BL
    detection_score: float
    reading: Reading


class DetectionPass:
    """The detector in the shape a micro-batcher runs: a batch of photographs in, their detections out."""

    def __init__(self, detector: PlateDetector) -> None:
        self.detector = detector

    def read_batch(self, images: list[Image.Image]) -> list[list[Detection]]:
        return self.detector.detect_batch(images)


def image_bytes(image_b64: str) -> bytes:
    """The bytes of a base64 image, or `image_undecodable`."""
    try:
        return base64.b64decode(image_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("the image is not valid base64", code="image_undecodable") from exc


def decode_frame(raw: bytes, *, max_bytes: int, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """A photograph (JPEG, PNG or WebP) as RGB; over `max_pixels` it is refused before any pixel is decoded."""
    return decode_image(raw, max_bytes=max_bytes, max_pixels=max_pixels, formats=FRAME_FORMATS)


def _inside(image: Image.Image, points: Sequence[tuple[float, float]]) -> list[Point]:
    # a plate cut by the frame's edge is still a plate: its corners are pulled onto the edge, not refused
    return [Point(x=min(max(float(x), 0.0), image.width), y=min(max(float(y), 0.0), image.height)) for x, y in points]


def _box_inside(image: Image.Image, box: tuple[float, float, float, float]) -> Box | None:
    top_left, bottom_right = _inside(image, [(box[0], box[1]), (box[0] + box[2], box[1] + box[3])])
    width, height = bottom_right.x - top_left.x, bottom_right.y - top_left.y
    if width < 1 or height < 1:
        return None
    return Box(x=top_left.x, y=top_left.y, width=width, height=height)


def plate_crop(image: Image.Image, box: Box, polygon: list[Point]) -> Image.Image | None:
    """The plate straightened by its polygon; its box where the polygon is degenerate; None if neither cuts."""
    for cut in (lambda: straighten(image, polygon), lambda: crop_box(image, box)):
        try:
            return cut()
        except InvalidInput:
            continue
    return None


def is_plate_reading(reading: Reading) -> bool:
    """Whether a detection's reading is a plate worth a read: long enough and more likely right than wrong."""
    return len(reading.plate) >= MIN_PLATE_CHARS and reading.confidence >= READ_FLOOR


class PlateFinder:
    """Finds every plate of a photograph and reads each, best detection first, at most `max_plates`."""

    def __init__(
        self,
        detections: MicroBatcher[list[Detection]],
        readings: MicroBatcher[Reading],
        *,
        version: str,
        max_plates: int,
        state_prior: StatePrior | None = None,
    ) -> None:
        self.detections = detections
        self.readings = readings
        self.version = version  # the detector's
        self.max_plates = max_plates
        self.state_prior = state_prior  # PlateReader.for_state, as for a crop

    async def find(self, image: Image.Image, *, state: str | None = None, plates_only: bool = True) -> list[FoundPlate]:
        """Detect, cut and read every plate; an empty list when there is none. A detection whose reading is
        not a plate's (`is_plate_reading`) is dropped unless `plates_only` is false: it would be a stored read of
        a sign or a badge. A vendor's scene read (`find_plate`) keeps them: the vendor says a plate is there."""
        detections = sorted(await self.detections.submit(image), key=lambda d: d.score, reverse=True)
        located: list[tuple[Box, list[Point], float, Image.Image]] = []
        for detection in detections:
            if len(located) == self.max_plates:
                break
            box = _box_inside(image, detection.box)
            if box is None:
                continue
            polygon = _inside(image, detection.polygon)
            crop = plate_crop(image, box, polygon)
            if crop is not None:
                located.append((box, polygon, float(detection.score), crop))
        readings = await asyncio.gather(*(self.readings.submit(crop) for *_, crop in located))
        found = []
        for (box, polygon, score, _), reading in zip(located, readings, strict=True):
            if self.state_prior is not None:
                reading = self.state_prior(reading, state)
            if plates_only and not is_plate_reading(reading):
                continue
            found.append(
                FoundPlate(box=box, polygon=polygon, detection_score=min(max(score, 0.0), 1.0), reading=reading)
            )
        return found
