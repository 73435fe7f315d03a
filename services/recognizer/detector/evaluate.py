"""Scoring the detector on labelled photos: recall of the labelled plate, other detections, end-to-end reads.

End to end is the whole path a frame takes: detect, crop each detection rectified by its polygon
(`pipeline.straightened`, on the photo decoded once), read; a photo counts when any of its detections reads
the labelled plate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from services.recognizer.detector.detect import Detection, PlateDetector
from services.recognizer.detector.pipeline import straightened
from services.recognizer.detector.targets import iou
from services.recognizer.engine.dataset import LabelledPlate
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader

MATCH_IOU = 0.5


@dataclass(frozen=True)
class PhotoResult:
    """One photo's outcome: the best match to its labelled plate, the other detections and what was read."""

    image: str
    plate: str
    best_iou: float
    found: bool
    read_exactly: bool
    reads: list[tuple[Detection, str, float]]  # every detection, what the reader read there, its confidence
    others: list[tuple[Detection, str]]  # detections that are not the labelled plate, with their reads


def read_detections(image: Image.Image, detections: list[Detection], reader: PlateReader) -> list[tuple[str, float]]:
    """Each detection cropped and rectified by its polygon, read as one batch; an uncroppable one reads ''."""
    crops, index = [], []
    for i, detection in enumerate(detections):
        crop = straightened(image, detection)
        if crop is not None:  # None: a degenerate polygon, nothing to read there
            crops.append(crop)
            index.append(i)
    readings = reader.read_batch(crops)
    out = [("", 0.0)] * len(detections)
    for i, reading in zip(index, readings, strict=True):
        out[i] = (reading.plate, reading.confidence)
    return out


def score_photo(
    row: LabelledPlate, image: Image.Image, detections: list[Detection], reader: PlateReader
) -> PhotoResult:
    """Match the detections against the labelled box and read each one."""
    overlaps = [iou(d.box, row.box) for d in detections]
    best = max(range(len(detections)), key=lambda i: overlaps[i], default=None)
    found = best is not None and overlaps[best] >= MATCH_IOU
    reads = read_detections(image, detections, reader)
    truth = fold_plate(row.plate)
    others = [(d, reads[i][0]) for i, d in enumerate(detections) if not (found and i == best)]
    return PhotoResult(
        image=row.image,
        plate=truth,
        best_iou=overlaps[best] if best is not None else 0.0,
        found=found,
        read_exactly=any(fold_plate(text) == truth for text, _ in reads),
        reads=[(d, text, confidence) for d, (text, confidence) in zip(detections, reads, strict=True)],
        others=others,
    )


def evaluate_frames(
    images_dir: Path, rows: list[LabelledPlate], detector: PlateDetector, reader: PlateReader
) -> tuple[dict[str, Any], list[PhotoResult]]:
    """Recall at IoU >= 0.5, other detections per photo, end-to-end exact plate, and the detector's time."""
    results, detect_seconds = [], 0.0
    for row in rows:
        with Image.open(images_dir / row.image) as opened:
            image = opened.convert("RGB")
        started = time.perf_counter()
        detections = detector.detect(image)
        detect_seconds += time.perf_counter() - started
        results.append(score_photo(row, image, detections, reader))
    count = max(1, len(results))
    report = {
        "photos": len(results),
        "detector_version": detector.version,
        "reader_version": reader.version,
        "recall_at_iou_0.5": sum(r.found for r in results) / count,
        "mean_best_iou": sum(r.best_iou for r in results) / count,
        "other_detections_per_photo": sum(len(r.others) for r in results) / count,
        "end_to_end_exact": sum(r.read_exactly for r in results) / count,
        "read_exactly_where_found": sum(r.read_exactly for r in results if r.found)
        / max(1, sum(r.found for r in results)),
        "detector_ms_per_frame": round(1000 * detect_seconds / count, 1),
    }
    return report, results
