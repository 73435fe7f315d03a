"""Two recognizer weights on the same held-out plates, paired: which plates only one of them reads.

Two models scored on the same 74 photos are compared by the plates they disagree on (exact McNemar test),
not by their totals or by whether their intervals overlap. The box variants are compared photo by photo:
a photo counts for the model that reads more of its eight variants (a sign test over photos, since a
photo's variants are not independent reads).

Run: `python bench/recognizer_compare.py --weights A.pt --against B.pt [--data-dir DIR]`
(`--against` defaults to the shipped weights; DIR to ../shared/data/plates-openalpr-us)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import BOX_MOVES, LabelledPlate, holdout_names, read_labels
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.uncertainty import paired_p_value


def right_by_move(reader: PlateReader, photos: dict[str, bytes], rows: list[LabelledPlate]) -> list[list[bool]]:
    """For each held-out plate, whether each box move of it reads exactly (O = 0)."""
    crops, truths = [], []
    for row in rows:
        for dx, dy in BOX_MOVES:
            crops.append(crop_plate(photos[row.image], box=row.moved(dx, dy)))
            truths.append(fold_plate(row.plate))
    right = []
    for i in range(0, len(crops), 128):
        readings = reader.read_batch(crops[i : i + 128])
        right += [fold_plate(r.plate) == t for r, t in zip(readings, truths[i : i + 128], strict=True)]
    return [right[i : i + len(BOX_MOVES)] for i in range(0, len(right), len(BOX_MOVES))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--against", type=Path, default=None, help="the other weights (default: the shipped)")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/plates-openalpr-us"))
    args = parser.parse_args()
    held_out = holdout_names()
    rows = [r for r in read_labels(args.data_dir / "labels.tsv") if r.image in held_out]
    photos = {r.image: (args.data_dir / "images" / r.image).read_bytes() for r in rows}
    first, second = PlateReader.load(args.weights), PlateReader.load(args.against)
    a, b = right_by_move(first, photos, rows), right_by_move(second, photos, rows)
    print(
        f"{first.version} ({args.weights}) against {second.version} ({args.against or 'shipped'}), {len(rows)} plates"
    )
    only_a = [r.plate for r, x, y in zip(rows, a, b, strict=True) if x[0] and not y[0]]
    only_b = [r.plate for r, x, y in zip(rows, a, b, strict=True) if y[0] and not x[0]]
    both = sum(x[0] and y[0] for x, y in zip(a, b, strict=True))
    print(f"held-out, labelled boxes: both read {both}, neither {len(rows) - both - len(only_a) - len(only_b)}")
    print(f"  only the first: {len(only_a)} {only_a}")
    print(f"  only the second: {len(only_b)} {only_b}")
    print(f"  exact McNemar p = {paired_p_value(len(only_a), len(only_b)):.3f}")
    more_a = sum(sum(x) > sum(y) for x, y in zip(a, b, strict=True))
    more_b = sum(sum(y) > sum(x) for x, y in zip(a, b, strict=True))
    print(
        f"box variants ({len(BOX_MOVES)} a photo): {sum(map(sum, a))} against {sum(map(sum, b))} reads;"
        f" photos where the first reads more {more_a}, the second more {more_b},"
        f" as many {len(rows) - more_a - more_b}; sign test p = {paired_p_value(more_a, more_b):.3f}"
    )


if __name__ == "__main__":
    main()
