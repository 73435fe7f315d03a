"""Scoring a reader on labelled crops: exact plates, error rates, how honest its confidence is, throughput;
with 95% intervals, since a hold-out of 74 photos leaves every share a wide one (see uncertainty.py)."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from services.recognizer.engine.calibration import at_or_above, expected_calibration_error, reliability
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.uncertainty import ece_if_calibrated, wilson_interval


def edit_ops(truth: str, read: str) -> tuple[int, list[tuple[str, str]]]:
    """Levenshtein distance and the aligned substitutions, insertions ("", c) and deletions (c, "")."""
    rows = [[i + j if i * j == 0 else 0 for j in range(len(read) + 1)] for i in range(len(truth) + 1)]
    for i in range(1, len(truth) + 1):
        for j in range(1, len(read) + 1):
            cost = truth[i - 1] != read[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
    ops: list[tuple[str, str]] = []
    i, j = len(truth), len(read)
    while i or j:
        if i and j and rows[i][j] == rows[i - 1][j - 1] + (truth[i - 1] != read[j - 1]):
            if truth[i - 1] != read[j - 1]:
                ops.append((truth[i - 1], read[j - 1]))
            i, j = i - 1, j - 1
        elif i and rows[i][j] == rows[i - 1][j] + 1:
            ops.append((truth[i - 1], ""))
            i -= 1
        else:
            ops.append(("", read[j - 1]))
            j -= 1
    return rows[-1][-1], ops[::-1]


@dataclass
class Score:
    plates: int = 0
    exact: int = 0
    in_top_n: int = 0
    edits: int = 0
    chars: int = 0
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)
    misreads: list[tuple[str, str]] = field(default_factory=list)


def score_readings(truths: list[str], readings: list[tuple[str, list[str]]]) -> Score:
    """Compare plates with O and 0 as one character; readings are (plate, candidate plates)."""
    score = Score()
    for truth, (plate, candidates) in zip(truths, readings, strict=True):
        truth, plate = fold_plate(truth), fold_plate(plate)
        distance, ops = edit_ops(truth, plate)
        score.plates += 1
        score.exact += distance == 0
        score.in_top_n += truth in {fold_plate(c) for c in candidates} or distance == 0
        score.edits += distance
        score.chars += len(truth)
        score.confusions.update(ops)
        if distance:
            score.misreads.append((truth, plate))
    return score


HIGH_CONFIDENCE = 0.9  # the cut: among reads this confident, at most 1% may be wrong


def confidence_report(
    confidences: list[float], correct: list[bool], *, threshold: float = HIGH_CONFIDENCE
) -> dict[str, Any]:
    """Wrong share and coverage at a confidence cut, expected calibration error and the reliability table."""
    high = at_or_above(confidences, correct, threshold)
    floor = ece_if_calibrated(confidences)
    return {
        "high_confidence": {
            "threshold": threshold,
            "reads": high.reads,
            "wrong": high.wrong,
            "wrong_share": round(high.wrong_share, 4),
            "wrong_share_95": _rounded(wilson_interval(high.wrong, high.reads)),
            "coverage": round(high.coverage, 4),
        },
        "expected_calibration_error": round(expected_calibration_error(confidences, correct), 4),
        # what a perfectly calibrated model would show on reads this many and this confident: a measured ECE
        # near it is noise, not miscalibration
        "ece_if_calibrated": None
        if floor is None
        else {"mean": round(floor.mean, 4), "p95": round(floor.p95, 4), "draws": floor.draws},
        "reliability": [
            {
                "bin": f"{b.low:.1f}-{b.high:.1f}",
                "reads": b.reads,
                "mean_confidence": round(b.mean_confidence, 4),
                "accuracy": round(b.accuracy, 4),
            }
            for b in reliability(confidences, correct)
        ],
    }


def evaluate(reader: PlateReader, crops: list[Image.Image], truths: list[str], *, batch: int = 128) -> dict[str, Any]:
    """Read every crop in batches and report accuracy, confidence honesty and speed."""
    started = time.perf_counter()
    readings = []
    for i in range(0, len(crops), batch):
        readings.extend(reader.read_batch(crops[i : i + batch]))
    elapsed = time.perf_counter() - started
    score = score_readings(truths, [(r.plate, [c for c, _ in r.candidates]) for r in readings])
    correct = [fold_plate(r.plate) == fold_plate(t) for r, t in zip(readings, truths, strict=True)]
    sure = [r.sure for r in readings]
    sure_wrong = sum(s and not ok for s, ok in zip(sure, correct, strict=True))
    return {
        "plates": score.plates,
        "exact_accuracy": round(score.exact / max(score.plates, 1), 4),
        "exact_accuracy_95": _rounded(wilson_interval(score.exact, score.plates)),
        "top_n_accuracy": round(score.in_top_n / max(score.plates, 1), 4),
        "character_error_rate": round(score.edits / max(score.chars, 1), 4),
        "confusions": [
            {"truth": t or "∅", "read": r or "∅", "count": n} for (t, r), n in score.confusions.most_common(10)
        ],
        "misreads": [{"truth": t, "read": r} for t, r in score.misreads],
        # every read, so a figure can be recomputed or pooled (the box-variant bench pools them by photo)
        "outcomes": [
            {"truth": fold_plate(t), "read": fold_plate(r.plate), "confidence": r.confidence, "sure": r.sure}
            for r, t in zip(readings, truths, strict=True)
        ],
        "plates_per_second": round(len(crops) / elapsed, 1),
        **confidence_report([r.confidence for r in readings], correct),
        "sure": {
            "threshold": reader.calibration.sure_threshold,
            "reads": sum(sure),
            "wrong": sure_wrong,
            "wrong_share_95": _rounded(wilson_interval(sure_wrong, sum(sure))),
            "coverage": round(sum(sure) / max(len(sure), 1), 4),
        },
    }


def _rounded(interval: tuple[float, float]) -> list[float]:
    return [round(interval[0], 4), round(interval[1], 4)]
