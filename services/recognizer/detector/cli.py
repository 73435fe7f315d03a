"""Command-line entry points: `train-detector` writes detector weights, `eval-frames` scores them on photos."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

from services.recognizer.detector.detect import PlateDetector
from services.recognizer.detector.evaluate import PhotoResult, evaluate_frames
from services.recognizer.detector.reading import CANDIDATES, SHIPPED
from services.recognizer.detector.train import DEFAULT_MINUTES, DEFAULT_STEPS, train
from services.recognizer.detector.weights import DEFAULT_WEIGHTS
from services.recognizer.engine.dataset import LabelledPlate, calibration_split_names, holdout_names, read_labels
from services.recognizer.engine.reader import PlateReader

MODEL_VERSION = "centernet-us-1.0"
# as `alpr`: the shared folder beside the checkout unless ALPR_SHARED_DIR says otherwise
DEFAULT_DATA = Path(os.environ.get("ALPR_SHARED_DIR", "../shared")) / "data" / "plates-openalpr-us"


def train_detector_main(
    out: Path = DEFAULT_WEIGHTS,
    *,
    data_dir: Path | None,
    minutes: float = DEFAULT_MINUTES,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    init: Path | None = None,
) -> dict[str, Any]:
    """Train the detector on the non-held-out photos and generated scenes; print and return the run's notes."""
    notes = train(out, data_dir=data_dir, minutes=minutes, steps=steps, seed=seed, init=init, version=MODEL_VERSION)
    print(json.dumps(notes, indent=2))
    return notes


def eval_frames_main(
    images_dir: Path,
    labels: Path,
    *,
    weights: Path | None = None,
    detector_weights: Path | None = None,
    split: str = "held-out",
    rules: bool = False,
) -> dict[str, Any]:
    """Score detection and the service's frame path on labelled photos (the held-out ones unless told otherwise).

    `rules` also scores every candidate reading rule (`reading.CANDIDATES`), on the calibration split only."""
    if rules and split != "calibration":
        raise SystemExit("--rules scores candidates on the calibration split only: add --split calibration")
    # one torch thread: on a shared two-core machine a second thread waits on the first (a frame took 10x longer)
    detector = PlateDetector.load(detector_weights, threads=1)
    reader = PlateReader.load(weights, threads=1)
    rows, subset = photos(read_labels(labels), split)
    report, results = asyncio.run(evaluate_frames(images_dir, rows, detector, reader))
    report["subset"] = subset
    print_report(report, results)
    if rules:
        report["rules"] = score_rules(images_dir, rows, detector, reader)
    return report


def photos(rows: list[LabelledPlate], split: str) -> tuple[list[LabelledPlate], str]:
    """The rows of a split; with labels other than the shared ones (no name in the hold-out), every row."""
    held_out = holdout_names()
    if split == "all" or not any(r.image in held_out for r in rows):
        return rows, "all"
    names = held_out if split == "held-out" else calibration_split_names() - held_out
    return [r for r in rows if r.image in names], split


def score_rules(
    images_dir: Path, rows: list[LabelledPlate], detector: PlateDetector, reader: PlateReader
) -> list[dict[str, Any]]:
    """Each candidate reading rule through the service's path; printed in the order `reading.py` lists them."""
    table = []
    print("reading rules (end-to-end exact, mean probability of the labelled plate, other reads/photo, crops):")
    for rule in CANDIDATES:
        figures, _ = asyncio.run(evaluate_frames(images_dir, rows, detector, reader, rule=rule))
        mark = " <- shipped" if rule == SHIPPED else ""
        print(
            f"  {figures['end_to_end_exact_count']:>3}/{figures['photos']}  {figures['mean_truth_probability']:.4f}"
            f"  {figures['other_reads_per_photo']:.2f}  {len(rule.cuts)}  {rule.name}{mark}"
        )
        table.append({"rule": rule.name, **figures})
    return table


def print_report(report: dict[str, Any], results: list[PhotoResult]) -> None:
    """The figures, every other detection and every photo not read."""
    subset = report["subset"]
    print(f"{subset} photos: {report['photos']}  detector: {report['detector_version']}", end="")
    print(f"  reader: {report['reader_version']}  reading: {report['reading_rule']}")
    print(f"recall of the labelled plate at IoU >= 0.5: {report['recall_at_iou_0.5']:.1%}")
    print(f"mean IoU of the best detection: {report['mean_best_iou']:.3f}")
    print(f"other detections per photo: {report['other_detections_per_photo']:.2f}")
    for result in results:
        texts = {(p.box.x, p.box.y, p.box.width, p.box.height): p.reading.plate for p in result.reads}
        for detection in result.others:
            x, y, w, h = (round(v) for v in detection.box)
            text = texts.get(detection.box) or "-"
            print(f"  other: {result.image} box=({x},{y},{w},{h}) score={detection.score:.2f} reads={text}")
    print(f"other plates read (kept as reads) per photo: {report['other_reads_per_photo']:.2f}")
    for result in results:
        for plate in result.other_reads:
            print(f"  other read: {result.image} {plate.reading.plate} ({plate.reading.confidence:.2f})")
    exact, photos = report["end_to_end_exact_count"], report["photos"]
    low, high = report["end_to_end_exact_95"]
    print(
        f"end-to-end exact plate (the service's path): {report['end_to_end_exact']:.1%} ({exact}/{photos};"
        f" 95% interval {low:.1%}–{high:.1%})"
    )
    print(f"  of the photos whose plate was found: {report['read_exactly_where_found']:.1%}")
    print(f"  mean probability of the labelled plate: {report['mean_truth_probability']:.4f}")
    for result in results:
        if not result.found:
            print(f"  missed: {result.image} plate={result.plate} best IoU={result.best_iou:.2f}")
        elif not result.read_exactly:
            listed = ", ".join(f"{p.reading.plate or '-'} ({p.reading.confidence:.2f})" for p in result.reads)
            print(f"  misread: {result.image} plate={result.plate} read={listed}")
    print(f"detector time per frame (one at a time, one thread): {report['detector_ms_per_frame']} ms")


def main(argv: list[str] | None = None) -> None:
    """`python -m services.recognizer.detector.cli train-detector|eval-frames ...`"""
    parser = argparse.ArgumentParser(prog="recognizer")
    commands = parser.add_subparsers(dest="action", required=True)
    t = commands.add_parser("train-detector", help="train the plate detector and write its weights")
    add_train_arguments(t)
    e = commands.add_parser("eval-frames", help="score the detector and the whole path on labelled photos")
    add_eval_arguments(e)
    args = parser.parse_args(argv)
    run(args)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `train-detector` (shared with `alpr recognizer train-detector`)."""
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="where the weights are written")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="folder with labels.tsv and images/")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="time bound of the run")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="steps (the clock may end it first)")
    parser.add_argument("--seed", type=int, default=0, help="the random seed")
    parser.add_argument("--init", type=Path, default=None, help="train on from these detector weights")


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `eval-frames` (shared with `alpr recognizer eval-frames`)."""
    parser.add_argument("images_dir", type=Path, help="folder of photographs")
    parser.add_argument("labels", type=Path, help="labels.tsv: image x y w h plate")
    parser.add_argument("--weights", type=Path, default=None, help="reader weights (default: the shipped ones)")
    parser.add_argument("--detector-weights", type=Path, default=None, help="default: the shipped detector")
    parser.add_argument(
        "--split",
        choices=("held-out", "calibration", "all"),
        default="held-out",
        help="which shared photos: the 74 held out, the 40 of the calibration split, or all",
    )
    parser.add_argument("--all", dest="split", action="store_const", const="all", help="the same as --split all")
    parser.add_argument(
        "--rules", action="store_true", help="also score each candidate reading rule (calibration split only)"
    )
    parser.add_argument("--json", action="store_true", help="also print the report as JSON")


def run(args: argparse.Namespace) -> None:
    """Run a parsed `train-detector` or `eval-frames` command."""
    if args.action == "train-detector":
        train_detector_main(
            args.out, data_dir=args.data_dir, minutes=args.minutes, steps=args.steps, seed=args.seed, init=args.init
        )
    else:
        report = eval_frames_main(
            args.images_dir,
            args.labels,
            weights=args.weights,
            detector_weights=args.detector_weights,
            split=args.split,
            rules=args.rules,
        )
        if args.json:
            print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
