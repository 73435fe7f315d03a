"""Real glyphs, re-ordered (run O): a shuffled plate keeps its characters and width, its label moves with its
cells, a share of 0 leaves the training stream as it was, held-out and calibration photos are never cut, and
the option needs weights to cut with."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import services.recognizer.engine.glyph_shuffle as glyph_shuffle
from libs.common.errors import InvalidInput
from services.recognizer.engine.augment import crop_box
from services.recognizer.engine.dataset import PhotoRegion, PlateStream, calibration_split_names, holdout_names
from services.recognizer.engine.glyph_shuffle import SegmentedPlate, segment_plates, shuffle_cells, shuffled_crop
from services.recognizer.engine.model import ALPHABET, BLANK, NUM_CLASSES
from services.recognizer.engine.train import train
from services.recognizer.engine.weights import load_weights

PLATE = "AB3X7"
WIDTHS = (9, 13, 7, 16, 11)  # each cell its own width, so a cell out of place is seen in the columns
MARGINS = (5, 6)


def _shade(ch: str) -> int:
    return 20 + 6 * ALPHABET.index(ch)  # a grey value per character, none the margins' 255


def _plate_crop() -> tuple[Image.Image, tuple[float, ...]]:
    """A 'plate' whose cells are flat stripes, one grey per character, with white margins, and its cuts."""
    width = sum(WIDTHS) + sum(MARGINS)
    pixels = np.full((20, width), 255, dtype=np.uint8)
    x, cuts = MARGINS[0], [MARGINS[0] / width]
    for ch, w in zip(PLATE, WIDTHS, strict=True):
        pixels[:, x : x + w] = _shade(ch)
        x += w
        cuts.append(x / width)
    return Image.fromarray(pixels), tuple(cuts)


def _segmented() -> SegmentedPlate:
    crop, cuts = _plate_crop()
    region = Image.new("L", (crop.width * 3, crop.height * 3), 128)
    box = (float(crop.width), float(crop.height), float(crop.width), float(crop.height))
    region.paste(crop, (crop.width, crop.height))
    return SegmentedPlate("p.jpg", region, box, crop_box(region, box), cuts, PLATE)


def test_a_shuffle_keeps_the_characters_and_the_width() -> None:
    rng = random.Random(3)
    seg = _segmented()
    for _ in range(20):
        _, plate = shuffled_crop(rng, seg)
        assert sorted(plate) == sorted(PLATE) and plate != PLATE  # never the plate's own order
        order = [PLATE.index(ch) for ch in plate]
        assert shuffle_cells(seg.crop, seg.cuts, order).size == seg.crop.size


def test_the_label_moves_with_its_cells(monkeypatch: pytest.MonkeyPatch) -> None:
    # undegraded: the crop at the box, so its columns can be compared with the source cells
    monkeypatch.setattr(glyph_shuffle, "real_crop", lambda rng, region, box: crop_box(region, box))
    seg = _segmented()
    source = np.asarray(seg.crop)
    rng = random.Random(4)
    for _ in range(10):
        image, plate = shuffled_crop(rng, seg)
        pixels = np.asarray(image)
        assert pixels.shape == source.shape
        assert np.array_equal(pixels[:, : MARGINS[0]], source[:, : MARGINS[0]])  # the margins stay at the ends
        assert np.array_equal(pixels[:, -MARGINS[1] :], source[:, -MARGINS[1] :])
        x = MARGINS[0]
        for ch in plate:
            i = PLATE.index(ch)
            start = MARGINS[0] + sum(WIDTHS[:i])
            assert np.array_equal(pixels[:, x : x + WIDTHS[i]], source[:, start : start + WIDTHS[i]])
            assert (pixels[:, x : x + WIDTHS[i]] == _shade(ch)).all()
            x += WIDTHS[i]


def _regions() -> list[PhotoRegion]:
    seg = _segmented()
    return [PhotoRegion(seg.region, seg.box, PLATE, "p.jpg"), PhotoRegion(seg.region.rotate(180), seg.box, "Z9", "q")]


def _draws(stream: PlateStream, n: int) -> list[tuple[np.ndarray, list[int]]]:
    items = iter(stream)
    return [next(items) for _ in range(n)]


def test_a_share_of_0_leaves_the_stream_as_it_was() -> None:
    before = _draws(PlateStream(_regions(), seed=7, real_share=0.5), 24)
    after = _draws(PlateStream(_regions(), seed=7, real_share=0.5, shuffle_share=0.0, segmented=[_segmented()]), 24)
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(before, after, strict=True))
    # and a share above 0 does shuffle: labels of the plate in other orders
    shuffled = _draws(PlateStream(_regions(), seed=7, real_share=1.0, shuffle_share=1.0, segmented=[_segmented()]), 8)
    own = [ALPHABET.index(ch) + 1 for ch in PLATE]
    assert all(sorted(label) == sorted(own) and label != own for _, label in shuffled)


class _Reads(nn.Module):
    """A stand-in for a lead member that reads every crop as `plate`, its peaks spread across the frames."""

    def __init__(self, plate: str) -> None:
        super().__init__()
        self.plate = plate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 32, NUM_CLASSES)
        logits[:, :, BLANK] = 5.0
        for k, ch in enumerate(self.plate):
            logits[:, 4 + 6 * k, BLANK] = 0.0
            logits[:, 4 + 6 * k, ALPHABET.index(ch) + 1] = 10.0
        return logits.log_softmax(-1)


def test_held_out_and_calibration_photos_are_never_cut(tmp_path: Path) -> None:
    names = [sorted(holdout_names())[0], sorted(calibration_split_names())[0], "train-a.jpg", "train-b.jpg"]
    (tmp_path / "images").mkdir()
    rows = ["image\tx\ty\tw\th\tplate"]
    for name in names:
        Image.new("RGB", (120, 60), (200, 200, 200)).save(tmp_path / "images" / name, format="JPEG")
        rows.append(f"{name}\t20\t15\t80\t30\tAB12")
    (tmp_path / "labels.tsv").write_text("\n".join(rows) + "\n")
    segmented = segment_plates(tmp_path, _Reads("AB12"))
    assert sorted(s.image for s in segmented) == ["train-a.jpg", "train-b.jpg"]
    assert all(len(s.cuts) == 5 and list(s.cuts) == sorted(s.cuts) for s in segmented)
    assert segment_plates(tmp_path, _Reads("AB13")) == []  # a read that is not the label: not cut


def test_glyph_shuffle_without_weights_to_cut_with_is_refused(tmp_path: Path) -> None:
    from services.recognizer.engine.cli import main

    with pytest.raises(InvalidInput) as refused:
        train(tmp_path / "x.pt", data_dir=None, steps=2, batch_size=4, glyph_shuffle=0.5)
    assert refused.value.code == "invalid_arguments" and "init" in str(refused.value)
    with pytest.raises(InvalidInput, match="give init"):
        main(["train", "--data-dir", str(tmp_path), "--glyph-shuffle", "0.5", "--out", str(tmp_path / "y.pt")])
    with pytest.raises(InvalidInput, match="0 to 1"):
        train(tmp_path / "z.pt", data_dir=None, steps=2, batch_size=4, glyph_shuffle=1.5)
    assert not (tmp_path / "x.pt").exists() and not (tmp_path / "y.pt").exists()


def test_a_run_from_weights_with_rectifiers_trains_every_tensor(tmp_path: Path) -> None:
    """Run O's recipe goes on from 2.5, rectifiers in front: without --rectify-only all of it trains."""
    base, rectified = tmp_path / "base.pt", tmp_path / "rect.pt"
    train(base, data_dir=None, steps=2, seed=5, batch_size=4, snapshots=1)
    train(rectified, data_dir=None, steps=2, seed=5, batch_size=4, snapshots=1, init=base, rectify_only=True)
    notes = train(tmp_path / "on.pt", data_dir=None, steps=2, seed=6, batch_size=4, snapshots=1, init=rectified)
    assert notes["glyph_shuffle"] == 0.0 and notes["glyph_shuffle_plates"] == 0
    (before,), _ = load_weights(rectified)
    (after,), meta = load_weights(tmp_path / "on.pt")
    assert meta["arch"]["rectifier"] == 1
    new = dict(after.named_parameters())
    unchanged = [name for name, value in before.named_parameters() if torch.equal(value, new[name])]
    assert unchanged == [] and any(name.startswith("rectifier.") for name in new)
