"""Choosing the score threshold on the training photos only (DETECTOR_CARD.md's rule, fixed before scoring).

`python -m services.recognizer.detector.choose --detector-weights PATH [--data-dir DIR]` prints, for 0.20 to
0.60, the recall of the labelled plate and the other detections per photo on the 148 non-held-out photos,
and the threshold the rule gives: the largest whose recall is within one photo of the recall at 0.20, less one
step (the network has seen these photos, so it scores their plates higher than unseen ones).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image

from services.recognizer.detector.cli import DEFAULT_DATA
from services.recognizer.detector.detect import PlateDetector, to_frame
from services.recognizer.detector.frame import letterbox
from services.recognizer.detector.targets import decode, iou
from services.recognizer.engine.dataset import holdout_names, read_labels

CANDIDATES = [round(0.20 + 0.05 * i, 2) for i in range(9)]
STEP = 0.05


def scores(detector: PlateDetector, data_dir: Path) -> tuple[list[float], list[float], int]:
    """Each training photo's best score on its labelled plate (0 if missed) and every other detection's score."""
    held_out = holdout_names()
    rows = [r for r in read_labels(data_dir / "labels.tsv") if r.image not in held_out]
    plate_scores, other_scores = [], []
    for row in rows:
        with Image.open(data_dir / "images" / row.image) as opened:
            image = opened.convert("RGB")
        array, scale = letterbox(image)
        with torch.inference_mode():
            output = detector.model(torch.from_numpy(array)[None, None])[0]
        found = [
            d for d in (to_frame(raw, scale, image.size) for raw in decode(output, threshold=min(CANDIDATES))) if d
        ]
        plate_scores.append(max((d.score for d in found if iou(d.box, row.box) >= 0.5), default=0.0))
        other_scores += [d.score for d in found if iou(d.box, row.box) < 0.5]
    return plate_scores, other_scores, len(rows)


def choose(plate_scores: list[float], other_scores: list[float], photos: int) -> float:
    """Print the table and return the rule's threshold."""
    found = {t: sum(s >= t for s in plate_scores) for t in CANDIDATES}
    for t in CANDIDATES:
        others = sum(s >= t for s in other_scores) / max(1, photos)
        recall = found[t] / max(1, photos)
        print(f"threshold {t:.2f}: recall {recall:.1%} ({found[t]}/{photos}), others/photo {others:.2f}")
    best = max(t for t in CANDIDATES if found[t] >= found[CANDIDATES[0]] - 1)
    chosen = round(max(CANDIDATES[0], best - STEP), 2)
    print(f"largest within one photo of the recall at {CANDIDATES[0]:.2f}: {best:.2f}; less one step: {chosen:.2f}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(prog="choose-threshold")
    parser.add_argument("--detector-weights", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    detector = PlateDetector.load(args.detector_weights, threads=1)
    choose(*scores(detector, args.data_dir))


if __name__ == "__main__":
    main()
