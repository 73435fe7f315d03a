"""Command-line entry points: `train` writes weights, `calibrate` fits their confidence, `eval` scores them,
`show` says which model a file is (the name its reads are stamped with) and how it was made."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from libs.common.contracts.reads import Box
from libs.common.errors import InvalidInput
from services.recognizer.engine.calibrate import DEFAULT_SYNTHETIC, calibrate
from services.recognizer.engine.calibrator import Calibration
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import holdout_names, read_labels
from services.recognizer.engine.evaluate import evaluate
from services.recognizer.engine.reader import CONSULT_BELOW, PRECISIONS, PlateReader
from services.recognizer.engine.train import (
    ARCH,
    DEFAULT_MINUTES,
    DEFAULT_REAL_SHARE,
    DEFAULT_SNAPSHOTS,
    DEFAULT_STEPS,
    train,
)
from services.recognizer.engine.uncertainty import clean_reads_needed
from services.recognizer.engine.weights import DEFAULT_WEIGHTS, load_weights, model_name

MODEL_VERSION = "crnn-us-2.5"  # the shipped weights' version (MODEL_CARD.md)


def train_main(
    out: Path,
    *,
    data_dir: Path,
    minutes: float = DEFAULT_MINUTES,
    seed: int = 0,
    steps: int = DEFAULT_STEPS,
    init: Path | None = None,
    real_share: float = DEFAULT_REAL_SHARE,
    lr: float = 3e-3,
    snapshots: int = DEFAULT_SNAPSHOTS,
    arch: dict[str, int] | None = None,
    hold_calibration_split: bool = True,
    version: str = MODEL_VERSION,
    rectify_only: bool = False,
    glyph_shuffle: float = 0.0,
    highway_faces: float = 0.0,
) -> None:
    """Train the recognizer (synthetic plates + the real crops outside both splits) and write weights to `out`."""
    notes = train(
        out,
        data_dir=data_dir,
        steps=steps,
        seed=seed,
        minutes=minutes,
        version=version,
        init=init,
        real_share=real_share,
        lr=lr,
        snapshots=snapshots,
        arch=arch,
        hold_calibration_split=hold_calibration_split,
        rectify_only=rectify_only,
        glyph_shuffle=glyph_shuffle,
        highway_faces=highway_faces,
    )
    print(json.dumps(notes, indent=2))


def eval_main(
    images_dir: Path,
    labels: Path,
    *,
    weights: Path | None,
    holdout_only: bool = True,
    members: list[int] | None = None,
    consult_below: float = CONSULT_BELOW,
    precision: str = "float32",
) -> dict[str, Any]:
    """Score weights on labelled photos; with the shared labels only the held-out photos count unless told otherwise."""
    reader = PlateReader.load(weights, members=members, consult_below=consult_below, precision=precision)
    rows = read_labels(labels)
    held_out = holdout_names()
    subset = "all"
    if holdout_only and any(r.image in held_out for r in rows):
        rows = [r for r in rows if r.image in held_out]
        subset = "held-out"
    if not rows:  # no figure means anything over no plates
        raise InvalidInput(f"{labels}: no labelled plates to score", code="labels_empty")
    crops = []
    for row in rows:
        x, y, w, h = row.box
        box = Box(x=x, y=y, width=w, height=h)
        crops.append(crop_plate((images_dir / row.image).read_bytes(), box=box))
    report = {"subset": subset, "model_version": reader.version, **evaluate(reader, crops, [r.plate for r in rows])}
    print(f"{subset} plates: {report['plates']}  model: {reader.version}")
    calibration = reader.calibration
    print(f"confidence from: {'+'.join(calibration.features)}, SURE at {calibration.sure_threshold:.4f}")
    print(
        f"exact-plate accuracy (O=0): {report['exact_accuracy']:.1%} ({_interval(report['exact_accuracy_95'])})"
        f"   in top-10: {report['top_n_accuracy']:.1%}"
    )
    print(f"character error rate: {report['character_error_rate']:.1%}")
    print(
        "most frequent confusions (truth→read): "
        + ", ".join(f"{c['truth']}→{c['read']}×{c['count']}" for c in report["confusions"])
    )
    high, sure = report["high_confidence"], report["sure"]
    print(
        f"confidence >= {high['threshold']}: {high['wrong_share']:.1%} wrong ({high['wrong']} of {high['reads']};"
        f" {_interval(high['wrong_share_95'])}), coverage {high['coverage']:.1%}"
    )
    print(
        f"SURE (>= {sure['threshold']:.4f}): {sure['wrong']} wrong of {sure['reads']}"
        f" ({_interval(sure['wrong_share_95'])}), coverage {sure['coverage']:.1%}"
    )
    print(
        f"  (showing <= 1% wrong takes at least {clean_reads_needed(0.01)} such reads with none wrong;"
        f" here {high['reads']} and {sure['reads']})"
    )
    floor = report["ece_if_calibrated"]
    beside = (
        f"a perfectly calibrated model would show {floor['mean']:.1%} on these reads, up to {floor['p95']:.1%}"
        " in 95 of 100 draws"
        if floor
        else "no reads"
    )
    print(f"expected calibration error: {report['expected_calibration_error']:.1%} ({beside})")
    print("reliability (confidence bin: reads, mean confidence, accuracy): ")
    for row in report["reliability"]:
        print(f"  {row['bin']}: {row['reads']}, {row['mean_confidence']:.3f}, {row['accuracy']:.3f}")
    print(f"reader throughput (resize + network + CTC decoding): {report['plates_per_second']} plates/s")
    return report


def _interval(bounds: list[float]) -> str:
    return f"95% interval {bounds[0]:.1%}–{bounds[1]:.1%}"


def calibrate_main(weights: Path, *, real_from: Path | None, synthetic: int = DEFAULT_SYNTHETIC) -> dict[str, Any]:
    """Choose and fit the calibrator and the SURE level on crops outside the hold-out, store them in the weights."""
    fitted = calibrate(weights, data_dir=real_from, synthetic=synthetic)
    table = fitted["fitted_on"].get("cross_validation", [])
    if table:
        print("cross-validation by photo on the real calibration crops (out of fold):")
        print(f"  {'candidate':<52} {'NLL':>7} {'ECE':>6} {'wrong@0.9':>9} {'cover@0.9':>9}")
        for row in table:
            print(
                f"  {row['candidate']:<52} {row['nll']:>7.4f} {row['ece']:>6.1%} {row['wrong_at_0.9']:>9.1%}"
                f" {row['coverage_at_0.9']:>9.1%}{'  refused' if row['refused'] else ''}"
            )
        print(f"chosen: {fitted['fitted_on']['chosen']}")
    print(json.dumps({k: v for k, v in fitted.items() if k != "fitted_on"}, indent=2))
    print(json.dumps({k: v for k, v in fitted["fitted_on"].items() if k != "cross_validation"}, indent=2))
    return fitted


def show_main(weights: Path | None = None) -> dict[str, Any]:
    """Print what a weights file is: the `model_version` its reads carry, and how it was trained and calibrated.

    A read's `model_version` is `version@fingerprint`; this is how an auditor finds the file that made it. The
    names come from the reader itself (`PlateReader.load`), so they are the ones the service stamps.
    """
    models, meta = load_weights(weights)  # the file verified, read once
    calibration = Calibration.from_meta(meta.get("calibration"))  # refused here as at the service's start
    notes = meta["notes"] if isinstance(meta.get("notes"), dict) else {}
    fitted = (meta.get("calibration") or {}).get("fitted_on")
    report = {
        "file": str(weights or DEFAULT_WEIGHTS),
        "model_version": model_name(meta, calibration.canonical()),  # as PlateReader.load names it
        "uncalibrated_version": model_name(meta),
        "digest": meta["digest"],
        "members": len(models),
        "arch": meta["arch"],
        "calibration": {
            "chosen": fitted.get("chosen") if isinstance(fitted, dict) else None,
            "sure_threshold": calibration.sure_threshold,
        }
        if calibration.canonical() is not None
        else None,
        "training": {k: v for k, v in notes.items() if k != "members"},
        "training_members": notes.get("members"),
    }
    print(json.dumps(report, indent=2, default=str))
    return report


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m services.recognizer.engine.cli`; `alpr recognizer` offers the same options."""
    parser = argparse.ArgumentParser(prog="recognizer")
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train and write weights")
    t.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    t.add_argument("--data-dir", type=Path, required=True, help="folder with labels.tsv and images/")
    t.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    t.add_argument("--init", type=Path, default=None, help="fine-tune from these weights instead of from scratch")
    t.add_argument(
        "--real-share", type=float, default=DEFAULT_REAL_SHARE, help="share of each batch taken from real crops"
    )
    t.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    t.add_argument("--version", default=MODEL_VERSION, help="the version written into the weights")
    t.add_argument("--snapshots", type=int, default=DEFAULT_SNAPSHOTS, help="learning-rate cycles, one member each")
    t.add_argument("--width", type=int, default=ARCH["width"], help="channels of the second conv layer")
    t.add_argument("--hidden", type=int, default=ARCH["hidden"], help="GRU units per direction")
    t.add_argument(
        "--rectify-only",
        action="store_true",
        help="with --init: train a rectifier (spatial transformer) in front of each member, the members frozen",
    )
    t.add_argument(
        "--glyph-shuffle",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="with --init: this share of the real crops are training plates with their glyphs re-ordered",
    )
    t.add_argument(
        "--highway-faces",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="this share of the synthetic plates is drawn in a Highway Gothic face (Overpass)",
    )
    t.add_argument(
        "--train-on-calibration-split",
        dest="hold_calibration_split",
        action="store_false",
        help="also train on the calibration split (as crnn-us-2.2 did); such weights calibrate on synthetic crops only",
    )
    c = commands.add_parser(
        "calibrate", help="choose and fit the confidence calibrator and SURE level into the weights (any weights file)"
    )
    c.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    c.add_argument("--synthetic", type=int, default=DEFAULT_SYNTHETIC, help="fresh synthetic crops to fit on")
    c.add_argument(
        "--real-from",
        type=Path,
        default=None,
        help="also fit on this folder's calibration-split photos (only for weights trained without them)",
    )
    w = commands.add_parser("show", help="which model a weights file is, as its reads name it, and how it was made")
    w.add_argument("--weights", type=Path, default=None)
    e = commands.add_parser("eval", help="score weights on labelled photos or crops")
    e.add_argument("images_dir", type=Path)
    e.add_argument("labels", type=Path)
    e.add_argument("--weights", type=Path, default=None)
    e.add_argument("--all", dest="holdout_only", action="store_false", help="score every row, not only the hold-out")
    e.add_argument("--json", action="store_true", help="also print the full report as JSON")
    e.add_argument("--member", dest="members", type=int, action="append", help="score only this member (repeatable)")
    e.add_argument(
        "--consult-below",
        type=float,
        default=CONSULT_BELOW,
        help="lead confidence under which the other members read too (above 1: always)",
    )
    e.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="the convolutions' arithmetic (the service runs float32 unless ALPR_READER_PRECISION says otherwise)",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    """`python -m services.recognizer.engine.cli train|calibrate|eval ...`"""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        train_main(
            args.out,
            data_dir=args.data_dir,
            minutes=args.minutes,
            seed=args.seed,
            steps=args.steps,
            init=args.init,
            real_share=args.real_share,
            lr=args.lr,
            snapshots=args.snapshots,
            arch={"width": args.width, "hidden": args.hidden},
            hold_calibration_split=args.hold_calibration_split,
            version=args.version,
            rectify_only=args.rectify_only,
            glyph_shuffle=args.glyph_shuffle,
            highway_faces=args.highway_faces,
        )
    elif args.command == "calibrate":
        calibrate_main(args.weights, real_from=args.real_from, synthetic=args.synthetic)
    elif args.command == "show":
        show_main(args.weights)
    else:
        report = eval_main(
            args.images_dir,
            args.labels,
            weights=args.weights,
            holdout_only=args.holdout_only,
            members=args.members,
            precision=args.precision,
            consult_below=args.consult_below,
        )
        if args.json:
            print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
