"""Float32 against bfloat16 convolutions: how many readings change, by how much, and the speed of each.

A reader in bfloat16 (`PlateReader(precision=...)`, `settings.recognizer_precision`) rounds the convolutions'
numbers to 8 significant bits. This reads the same crops both ways and counts what differs: the plate, the
SURE flag, the calibrated confidence. By default it reads the photos that are *not* held out (each box moved
as `recognizer_box_sensitivity.py` moves it) and synthetic crops, so choosing the precision leaves the 74
held-out photos to the one scoring `bench/recognizer_box_sensitivity.py --precision` makes.

Run: `python bench/recognizer_precision.py [--weights PATH] [--data-dir DIR] [--synthetic N] [--seconds S]
[--held-out]`
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the service runs (services/recognizer/__init__.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from libs.common.errors import InvalidInput
from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import BOX_MOVES, holdout_names, read_labels
from services.recognizer.engine.reader import PlateReader, Reading, native_bfloat16
from services.recognizer.engine.synth import render_plate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/plates-openalpr-us"))
    parser.add_argument("--synthetic", type=int, default=1000, help="synthetic crops read as well")
    parser.add_argument("--seconds", type=float, default=3.0, help="time spent on each speed measurement")
    parser.add_argument("--held-out", action="store_true", help="read the held-out photos instead of the others")
    args = parser.parse_args()
    full = PlateReader.load(args.weights, threads=1, precision="float32")
    half = PlateReader.load(args.weights, threads=1, precision="bfloat16")
    print(f"model {full.version}; this CPU has bfloat16 in hardware: {native_bfloat16()}")
    crops = _photo_crops(args.data_dir, held_out=args.held_out)
    rng = random.Random(11)
    synthetic = [synthetic_crop(rng, render_plate(rng).image).convert("RGB") for _ in range(args.synthetic)]
    for name, group in (("photos" + (" (held out)" if args.held_out else ""), crops), ("synthetic", synthetic)):
        _compare(name, _read(full, group), _read(half, group))
    for precision, reader in (("float32", full), ("bfloat16", half), ("float32", full), ("bfloat16", half)):
        print(
            f"speed {precision:>8}: {_rate(reader, synthetic[:64], args.seconds):5.0f} plates/s at batch 64, one thread"
        )


def _photo_crops(data_dir: Path, *, held_out: bool) -> list[Image.Image]:
    """Every labelled plate of the chosen photos, cropped by each of the box moves that stays in the photo."""
    hold = holdout_names()
    rows = [r for r in read_labels(data_dir / "labels.tsv") if (r.image in hold) == held_out]
    photos = {r.image: (data_dir / "images" / r.image).read_bytes() for r in rows}
    crops = []
    for dx, dy in BOX_MOVES:
        for r in rows:
            try:
                crops.append(crop_plate(photos[r.image], box=r.moved(dx, dy)))
            except InvalidInput:  # a plate at the photo's edge: the moved box leaves it
                continue
    return crops


def _read(reader: PlateReader, crops: list[Image.Image]) -> list[Reading]:
    return [reading for i in range(0, len(crops), 64) for reading in reader.read_batch(crops[i : i + 64])]


def _compare(name: str, full: list[Reading], half: list[Reading]) -> None:
    plates = sum(a.plate != b.plate for a, b in zip(full, half, strict=True))
    sure = sum(a.sure != b.sure for a, b in zip(full, half, strict=True))
    moved = [abs(a.confidence - b.confidence) for a, b in zip(full, half, strict=True) if a.plate == b.plate]
    cuts = statistics.quantiles(moved, n=100) if len(moved) > 1 else [0.0] * 99
    print(
        f"{name}: {len(full)} crops; plate differs on {plates} ({plates / len(full):.2%}), SURE on {sure}"
        f" ({sure / len(full):.2%}); confidence moved (same plate) median {cuts[49]:.4f}, p99 {cuts[98]:.4f},"
        f" max {max(moved, default=0.0):.4f}"
    )
    for a, b in [(a, b) for a, b in zip(full, half, strict=True) if a.plate != b.plate][:10]:
        print(f"    float32 {a.plate} ({a.confidence:.3f}) / bfloat16 {b.plate} ({b.confidence:.3f})")


def _rate(reader: PlateReader, crops: list[Image.Image], seconds: float) -> float:
    reader.read_batch(crops)  # oneDNN picks kernels per shape
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        reader.read_batch(crops)
        done += len(crops)
    return done / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
