"""Recognizer accuracy when the plate box is looser or tighter than the labelled one.

Vendors' boxes come from their own detectors, so a reader that is right only on our labels' boxes is less
right in service. Each side of every held-out box is moved by a share of the box's width (x) or height (y)
and the same plates are read again.

Over all the variants it also prints the wrong share and coverage at confidence ≥ 0.9 and at SURE, the
expected calibration error and the reliability table: eight times the hold-out's reads, so a steadier
measure of the confidence than the 74 labelled crops alone (the same plates, so not independent reads: the
pooled shares' 95% intervals count a photo's eight variants as one cluster, `uncertainty.grouped_share_interval`).

Run: `python bench/recognizer_box_sensitivity.py [--weights PATH] [--member N] [--data-dir DIR] [--precision P]`
(DIR defaults to ../shared/data/plates-openalpr-us)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import BOX_MOVES, holdout_names, read_labels
from services.recognizer.engine.evaluate import HIGH_CONFIDENCE, confidence_report, evaluate
from services.recognizer.engine.reader import PRECISIONS, PlateReader
from services.recognizer.engine.uncertainty import grouped_share_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/plates-openalpr-us"))
    parser.add_argument("--member", dest="members", type=int, action="append", help="read with this member only")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32", help="the convolutions' arithmetic")
    args = parser.parse_args()
    reader = PlateReader.load(args.weights, members=args.members, precision=args.precision)
    held_out = holdout_names()
    rows = [r for r in read_labels(args.data_dir / "labels.tsv") if r.image in held_out]
    photos = {r.image: (args.data_dir / "images" / r.image).read_bytes() for r in rows}
    print(f"model {reader.version}, {len(rows)} held-out plates")
    reports = []
    for dx, dy in BOX_MOVES:
        crops = [crop_plate(photos[r.image], box=r.moved(dx, dy)) for r in rows]
        report = evaluate(reader, crops, [r.plate for r in rows])
        exact = round(report["exact_accuracy"] * report["plates"])
        high = report["high_confidence"]
        print(
            f"each side x {dx:+.0%}  y {dy:+.0%}: exact {exact}/{report['plates']} ({report['exact_accuracy']:.1%}),"
            f" at confidence >= 0.9 {high['wrong']} wrong of {high['reads']}"
        )
        reports.append(report)
    # every variant's reads pooled: the calibration error and the confident misreads of all of them, with
    # intervals by photo (a photo's eight variants are not eight independent reads)
    photos_of = [r.image for _ in reports for r in rows]
    outcomes = [o for report in reports for o in report["outcomes"]]
    right = [o["read"] == o["truth"] for o in outcomes]
    confidences = [o["confidence"] for o in outcomes]
    summary = confidence_report(confidences, right)
    high, floor = summary["high_confidence"], summary["ece_if_calibrated"]
    sure_reads = sum(r["sure"]["reads"] for r in reports)
    sure_wrong = sum(r["sure"]["wrong"] for r in reports)
    wrong = [not ok for ok in right]
    every = [True] * len(outcomes)
    confident = [p >= HIGH_CONFIDENCE for p in confidences]
    print(f"all {len(outcomes)} reads: exact {sum(right)} ({_by_photo(photos_of, right, every)})")
    print(
        f"  confidence >= {HIGH_CONFIDENCE}: {high['wrong']} wrong of {high['reads']} ({high['wrong_share']:.1%};"
        f" {_by_photo(photos_of, wrong, confident)}), coverage {high['coverage']:.1%}"
    )
    print(
        f"  SURE: {sure_wrong} wrong of {sure_reads} ({_by_photo(photos_of, wrong, [o['sure'] for o in outcomes])}),"
        f" coverage {sure_reads / len(outcomes):.1%}"
    )
    print(
        f"  expected calibration error {summary['expected_calibration_error']:.1%} (a perfectly calibrated model:"
        f" {floor['mean']:.1%}, up to {floor['p95']:.1%}, were the reads independent; they are not, and this floor"
        " does not allow for that)"
    )
    for row in summary["reliability"]:
        print(
            f"    {row['bin']}: {row['reads']} reads, mean confidence {row['mean_confidence']:.3f},"
            f" accuracy {row['accuracy']:.3f}"
        )


def _by_photo(photos: list[str], hits: list[bool], counted: list[bool]) -> str:
    low, high = grouped_share_interval(photos, hits, counted)
    return f"95% interval by photo {low:.1%}–{high:.1%}"


if __name__ == "__main__":
    main()
