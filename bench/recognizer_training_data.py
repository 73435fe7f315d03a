"""How fast the training stream makes crops on one core: the loader worker's share of a training step.

Renders, augments and standardises crops as `PlateStream` does for `alpr recognizer train` (synthetic
plates with 25% real crops), after a warm-up that fills the glyph and text caches, and prints ms per crop
and batches of 64 per second. Training is steps-bound on the network once this is well above its rate; the
model card has the figures.

Run: `python bench/recognizer_training_data.py [--data-dir ../shared/data/plates-openalpr-us] [--crops 3000]`
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recognizer.engine.dataset import PlateStream, holdout_names, load_regions
from services.recognizer.engine.train import DEFAULT_REAL_SHARE


def main() -> None:
    """Print ms per crop and batches of 64 per second for the training stream, caches warm."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/plates-openalpr-us"))
    parser.add_argument("--crops", type=int, default=3000)
    args = parser.parse_args()
    regions = load_regions(args.data_dir, exclude=holdout_names())
    stream = iter(PlateStream(regions, seed=0, real_share=DEFAULT_REAL_SHARE))
    for _ in range(args.crops):  # warm-up: glyph masks and text are rasterised once, then remembered
        next(stream)
    started = time.perf_counter()
    for _ in range(args.crops):
        next(stream)
    per_crop = (time.perf_counter() - started) / args.crops
    print(f"{len(regions)} real training photos; {args.crops} crops after as many to warm up")
    print(f"{per_crop * 1000:.2f} ms per crop, {1 / (per_crop * 64):.1f} batches of 64 per second on one core")


if __name__ == "__main__":
    main()
