"""Frames to plate reads: detect every plate, straighten each by its polygon, read them all in one batch."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from libs.common.contracts.reads import Point
from libs.common.errors import AlprError
from services.recognizer.detector.detect import Detection, PlateDetector
from services.recognizer.engine.crop import straighten
from services.recognizer.engine.reader import PlateReader, Reading


@dataclass(frozen=True)
class FoundPlate:
    """A detected plate and what the reader read on its straightened crop."""

    detection: Detection
    reading: Reading


def straightened(image: Image.Image, detection: Detection) -> Image.Image | None:
    """The plate cut out along its polygon and warped upright (`crop_plate`'s rule); None if degenerate."""
    try:
        return straighten(image, [Point(x=x, y=y) for x, y in detection.polygon])
    except AlprError:
        return None


def find_and_read(detector: PlateDetector, reader: PlateReader, frames: list[Image.Image]) -> list[list[FoundPlate]]:
    """Each frame's plates, best detection first: one detector pass and one reader pass for the whole batch."""
    found = detector.detect_batch(frames)
    crops: list[Image.Image] = []
    owners: list[tuple[int, Detection]] = []
    for index, (frame, detections) in enumerate(zip(frames, found, strict=True)):
        for detection in detections:
            crop = straightened(frame, detection)
            if crop is not None:
                crops.append(crop)
                owners.append((index, detection))
    plates: list[list[FoundPlate]] = [[] for _ in frames]
    for (index, detection), reading in zip(owners, reader.read_batch(crops), strict=True):
        plates[index].append(FoundPlate(detection, reading))
    return plates
