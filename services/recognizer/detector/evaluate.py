"""Scoring the detector and the whole frame path on labelled photos.

The detector alone: recall of the labelled plate at IoU >= 0.5 and the other detections per photo. End to end
goes through `frames.PlateFinder`, the service's own path: detect, cut each plate by the reading rule
(`reading.py`), read, join, keep what reads as a plate (`frames.is_plate_reading`), at most the cap. A photo
counts when a plate the service would keep reads the labelled plate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from services.recognizer.detector.detect import Detection, PlateDetector
from services.recognizer.detector.reading import SHIPPED, ReadingRule
from services.recognizer.detector.targets import MAX_DETECTIONS, iou
from services.recognizer.engine.dataset import LabelledPlate
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.uncertainty import wilson_interval
from services.recognizer.frames import FoundPlate, PlateFinder, service_finder
from services.recognizer.settings import RecognizerSettings

MATCH_IOU = 0.5


@dataclass(frozen=True)
class PhotoResult:
    """One photo's outcome: the best match to its labelled plate, the other detections and what was read."""

    image: str
    plate: str
    best_iou: float
    found: bool  # a detection overlaps the labelled plate at IoU >= 0.5
    read_exactly: bool  # a plate the service keeps reads the labelled plate
    kept: list[FoundPlate]  # what the service would answer for this photo
    reads: list[FoundPlate]  # every detection's reading, kept or not
    others: list[Detection]  # detections that are not the labelled plate
    other_reads: list[FoundPlate]  # kept plates that are not the labelled plate: reads the service would store
    truth_probability: float  # the labelled plate's joined probability on its detection's reading (0 if absent)


def _box(plate: FoundPlate) -> tuple[float, float, float, float]:
    return (plate.box.x, plate.box.y, plate.box.width, plate.box.height)


def truth_probability(reads: Sequence[FoundPlate], row: LabelledPlate) -> float:
    """The probability the reading of the detection on the labelled plate gives the labelled plate."""
    on_plate = [p for p in reads if iou(_box(p), row.box) >= MATCH_IOU]
    if not on_plate:
        return 0.0
    best = max(on_plate, key=lambda p: iou(_box(p), row.box))
    truth = fold_plate(row.plate)
    return max((c for text, c in best.reading.candidates if fold_plate(text) == truth), default=0.0)


def score_photo(
    row: LabelledPlate, detections: Sequence[Detection], kept: Sequence[FoundPlate], reads: Sequence[FoundPlate]
) -> PhotoResult:
    """Match the detections against the labelled box; the photo is read when a kept plate reads its plate."""
    overlaps = [iou(d.box, row.box) for d in detections]
    best = max(range(len(detections)), key=lambda i: overlaps[i], default=None)
    found = best is not None and overlaps[best] >= MATCH_IOU
    truth = fold_plate(row.plate)
    return PhotoResult(
        image=row.image,
        plate=truth,
        best_iou=overlaps[best] if best is not None else 0.0,
        found=found,
        read_exactly=any(fold_plate(p.reading.plate) == truth for p in kept),
        kept=list(kept),
        reads=list(reads),
        others=[d for i, d in enumerate(detections) if not (found and i == best)],
        other_reads=[p for p in kept if iou(_box(p), row.box) < MATCH_IOU],
        truth_probability=truth_probability(reads, row),
    )


async def evaluate_frames(
    images_dir: Path,
    rows: list[LabelledPlate],
    detector: PlateDetector,
    reader: PlateReader,
    *,
    rule: ReadingRule = SHIPPED,
) -> tuple[dict[str, Any], list[PhotoResult]]:
    """Recall at IoU >= 0.5, other detections and reads per photo, end-to-end exact plate, the detector's time."""
    settings = RecognizerSettings()
    inference = ThreadPoolExecutor(max_workers=1)  # as app.py: both models on one inference thread
    finder = service_finder(detector, reader, settings, inference, detector_batch=1, detector_wait_ms=0, rule=rule)
    detections, readings = finder.detections, finder.readings
    every = PlateFinder(detections, readings, version=detector.version, max_plates=MAX_DETECTIONS, rule=rule)
    results, detect_seconds = [], 0.0
    try:
        for row in rows:
            with Image.open(images_dir / row.image) as opened:
                image = opened.convert("RGB")
            started = time.perf_counter()
            found = detector.detect(image)
            detect_seconds += time.perf_counter() - started
            kept = await finder.find(image)
            reads = await every.find(image, plates_only=False)
            results.append(score_photo(row, found, kept, reads))
    finally:
        await finder.close()
        inference.shutdown(wait=True)
    return summary(results, detector, reader, rule, detect_seconds), results


def summary(
    results: list[PhotoResult], detector: PlateDetector, reader: PlateReader, rule: ReadingRule, seconds: float
) -> dict[str, Any]:
    """The figures over the photos."""
    count = max(1, len(results))
    found = [r for r in results if r.found]
    return {
        "photos": len(results),
        "detector_version": detector.version,
        "reader_version": reader.version,
        "reading_rule": rule.name,
        "recall_at_iou_0.5": len(found) / count,
        "mean_best_iou": sum(r.best_iou for r in results) / count,
        "other_detections_per_photo": sum(len(r.others) for r in results) / count,
        "other_reads_per_photo": sum(len(r.other_reads) for r in results) / count,
        "end_to_end_exact": sum(r.read_exactly for r in results) / count,
        "end_to_end_exact_count": sum(r.read_exactly for r in results),
        "end_to_end_exact_95": [
            round(end, 4) for end in wilson_interval(sum(r.read_exactly for r in results), len(results))
        ],
        "read_exactly_where_found": sum(r.read_exactly for r in found) / max(1, len(found)),
        "mean_truth_probability": sum(r.truth_probability for r in results) / count,
        "detector_ms_per_frame": round(1000 * seconds / count, 1),
    }
