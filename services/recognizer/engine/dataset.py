"""Training data: the labelled real photos (less the fixed hold-out) mixed with synthetic plates."""

from __future__ import annotations

import csv
import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from libs.common.contracts.reads import Box as ReadsBox
from libs.common.errors import InvalidInput
from services.recognizer.engine.augment import Box, real_crop, synthetic_crop
from services.recognizer.engine.glyph_shuffle import SegmentedPlate, shuffled_crop
from services.recognizer.engine.model import ALPHABET, encode_plate, fold_plate, plate_array
from services.recognizer.engine.synth import render_plate

HOLDOUT_FILE = Path(__file__).resolve().parent / "holdout.txt"
HOLDOUT_COUNT = 74  # a third of the 222 shared photos
# The next 40 photos in the same SHA-256 order: real plates a model trained without them can be calibrated on.
# Calibrating on plates the members trained on teaches that a sure read is never wrong (see calibrate.py).
CALIBRATION_SPLIT_FILE = Path(__file__).resolve().parent / "calibration_split.txt"
CALIBRATION_SPLIT_COUNT = 40


# Each side of a labelled box moved by these shares of its width (x) and height (y): the labelled box, then
# looser and tighter ones, as other detectors cut plates. The box-variant bench, the paired comparison and
# the calibration set all read a plate under these.
BOX_MOVES = ((0.0, 0.0), (0.03, 0.0), (0.06, 0.0), (-0.03, 0.0), (0.0, 0.05), (0.0, 0.10), (0.0, -0.05), (0.06, 0.10))


@dataclass(frozen=True)
class LabelledPlate:
    image: str
    box: Box
    plate: str

    def moved(self, dx: float, dy: float) -> ReadsBox:
        """The labelled box with each side moved out by `dx` of its width and `dy` of its height (in if < 0)."""
        x, y, w, h = self.box
        return ReadsBox(x=x - w * dx, y=y - h * dy, width=w * (1 + 2 * dx), height=h * (1 + 2 * dy))


LABEL_COLUMNS = ("image", "x", "y", "w", "h", "plate")


def read_labels(path: Path) -> list[LabelledPlate]:
    """Rows of a labels.tsv: `image x y w h plate` with a header line.

    Every row is checked at the door, so a typo stops the command with the file and line, not a traceback
    or a plate that silently never matches: the image a plain file name of the folder, the box finite with a
    positive width and height, the plate one or more of the letters and digits plates carry."""
    with path.open(newline="", encoding="utf-8") as handle:
        try:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(
                    f"{path}: no column {', '.join(missing)}; a labels file is tab-separated, headed"
                    " image x y w h plate",
                    code="labels_invalid",
                )
            # line_num is the file's line (blank lines skipped), read after the row it ends
            return [_labelled(path, reader.line_num, row) for row in reader]
        except (UnicodeDecodeError, csv.Error) as err:
            raise InvalidInput(f"{path}: not a tab-separated text file ({err})", code="labels_invalid") from None


def _labelled(path: Path, line: int, row: dict[str, str | None]) -> LabelledPlate:
    where = f"{path} line {line}"
    image, plate = row["image"] or "", fold_plate(row["plate"] or "")
    if not image or not image.isprintable() or Path(image).name != image or image in (".", ".."):
        raise InvalidInput(
            f"{where}: the image is a file name in the images folder, not {image!r}", code="labels_invalid"
        )
    try:
        x, y, w, h = (float(row[k] or "") for k in ("x", "y", "w", "h"))
    except ValueError:
        raise InvalidInput(f"{where}: x, y, w and h are numbers", code="labels_invalid") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise InvalidInput(f"{where}: a box has a finite place and a positive width and height", code="labels_invalid")
    if not plate or not set(plate) <= set(ALPHABET):
        raise InvalidInput(f"{where}: a plate is letters and digits only, not {row['plate']!r}", code="labels_invalid")
    return LabelledPlate(image, (x, y, w, h), plate)


def choose_split(names: list[str], start: int, count: int) -> list[str]:
    """Photos `start` to `start + count` by SHA-256 of the file name, so a split never drifts.

    The hold-out is `choose_split(names, 0, HOLDOUT_COUNT)`, the calibration split the next
    `CALIBRATION_SPLIT_COUNT`; both lists ship as files and a test checks them against this rule.
    """
    return sorted(set(names), key=lambda n: hashlib.sha256(n.encode()).hexdigest())[start : start + count]


def _names(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def holdout_names() -> set[str]:
    """The shipped hold-out list that training never sees."""
    return _names(HOLDOUT_FILE)


def calibration_split_names() -> set[str]:
    """The shipped calibration split: kept out of training by default, so its plates can calibrate the model."""
    return _names(CALIBRATION_SPLIT_FILE)


@dataclass(frozen=True)
class PhotoRegion:
    """The neighbourhood of one labelled plate, kept small so warping and cropping stay cheap."""

    region: Image.Image
    box: Box
    plate: str
    image: str = ""  # the photo's file name


def load_regions(data_dir: Path, *, exclude: set[str]) -> list[PhotoRegion]:
    """Plate neighbourhoods from the shared photos, skipping the hold-out."""
    regions = []
    for item in read_labels(data_dir / "labels.tsv"):
        if item.image in exclude:
            continue
        x, y, w, h = item.box
        left, top = max(0, int(x - w)), max(0, int(y - h))
        with Image.open(data_dir / "images" / item.image) as photo:
            # grey, as the network reads it: augmenting one channel is a third of the work of three
            region = photo.convert("L").crop((left, top, int(x + 2 * w), int(y + 2 * h)))
        regions.append(PhotoRegion(region, (x - left, y - top, w, h), item.plate, item.image))
    return regions


class PlateStream(IterableDataset[tuple[np.ndarray, list[int]]]):
    """Endless (crop, label) pairs: synthetic plates with a share of augmented real crops.

    `shuffle_share` of the real draws are plates of `segmented` with their glyphs re-ordered (`glyph_shuffle`);
    `highway_share` of the synthetic plates are drawn in a Highway Gothic face (`synth.HIGHWAY_FACES`); at 0
    each stream draws exactly the numbers it drew before the option existed."""

    def __init__(
        self,
        regions: list[PhotoRegion],
        *,
        seed: int,
        real_share: float,
        shuffle_share: float = 0.0,
        segmented: list[SegmentedPlate] | None = None,
        highway_share: float = 0.0,
    ) -> None:
        self.regions = regions
        self.seed = seed
        self.real_share = real_share if regions else 0.0
        self.segmented = segmented or []
        self.shuffle_share = shuffle_share if self.segmented else 0.0
        self.highway_share = highway_share

    def __iter__(self) -> Iterator[tuple[np.ndarray, list[int]]]:
        worker = get_worker_info()
        rng = random.Random(self.seed * 1000 + (worker.id if worker else 0))
        while True:
            if rng.random() < self.real_share:
                # the second draw only when shuffling: a share of 0 leaves every old recipe's stream as it was
                if self.shuffle_share > 0 and rng.random() < self.shuffle_share:
                    crop, plate = shuffled_crop(rng, rng.choice(self.segmented))
                else:
                    item = rng.choice(self.regions)
                    crop, plate = real_crop(rng, item.region, item.box), item.plate
            else:
                synth = render_plate(rng, size=(160, 80), highway_share=self.highway_share)
                crop, plate = synthetic_crop(rng, synth.image), synth.plate
            yield plate_array(crop), encode_plate(plate)


def collate(batch: list[tuple[np.ndarray, list[int]]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images (N,1,H,W), concatenated targets and target lengths, as CTC loss wants them."""
    images = torch.from_numpy(np.stack([b[0] for b in batch])[:, None])
    targets = torch.tensor([c for b in batch for c in b[1]], dtype=torch.long)
    lengths = torch.tensor([len(b[1]) for b in batch], dtype=torch.long)
    return images, targets, lengths
