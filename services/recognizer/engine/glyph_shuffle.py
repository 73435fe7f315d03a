"""Real glyphs, re-ordered (issue 28, run O): training photos' plates cut into character cells and re-assembled.

A real plate shows its state's dies in one order only. Each training photo the given model reads exactly is
cut between its characters (where that model's CTC peaks fall) and, when drawn, put back with its cells in a
random order and its label re-ordered the same way, then cropped and degraded like any real crop.
Only the photos training uses are ever cut: never the hold-out, never the calibration split.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from services.recognizer.engine.augment import Box, crop_box, real_crop
from services.recognizer.engine.model import ALPHABET, BLANK, fold_plate, plate_batch


@dataclass(frozen=True)
class SegmentedPlate:
    """One plate cut into cells: `cuts` are x fractions of `crop`'s width, `plate[i]` lies in
    [cuts[i], cuts[i + 1]); [0, cuts[0]) and [cuts[-1], 1] are the margins, which stay at the ends."""

    image: str
    region: Image.Image  # the photo's neighbourhood (grey) and the box in it, to crop and degrade as real crops
    box: Box
    crop: Image.Image  # the crop at the labelled box, as the reader gets it
    cuts: tuple[float, ...]
    plate: str


def segment_plates(data_dir: Path, model: nn.Module, *, batch: int = 64) -> list[SegmentedPlate]:
    """The training photos' plates that `model` (a weights file's lead member) reads exactly, cut into cells.

    The model reads each crop greedily; its character peak frames give the cells: a cut midway between two
    successive peaks, and the outer cells as wide on their outer side as on their inner one (the rest is
    margin). Frame i of the 32 covers input columns [4i, 4i + 4) of 128 (two 2x2 pools), so its centre is
    at x = (i + 0.5) / 32 of the network's input; a rectifier resamples that input by an affine map, so the
    centre is carried through the crop's own map to the x it was sampled from."""
    from services.recognizer.engine.dataset import calibration_split_names, holdout_names, load_regions

    # always both splits, whatever training holds out: no cell of a scored or calibrating photo is ever seen
    regions = load_regions(data_dir, exclude=holdout_names() | calibration_split_names())
    was_training = model.training
    model.eval()
    segmented: list[SegmentedPlate] = []
    try:
        for start in range(0, len(regions), batch):
            chunk = regions[start : start + batch]
            crops = [crop_box(item.region, item.box) for item in chunk]
            peaks = _peak_fractions(model, crops)
            for item, crop, found in zip(chunk, crops, peaks, strict=True):
                read, centres = found
                if fold_plate(read) != item.plate:  # a label is never guessed: only exact reads are cut
                    continue
                segmented.append(
                    SegmentedPlate(item.image, item.region, item.box, crop, cell_cuts(centres, crop), item.plate)
                )
    finally:
        model.train(was_training)
    return segmented


def _peak_fractions(model: nn.Module, crops: list[Image.Image]) -> list[tuple[str, list[float]]]:
    """Each crop's greedy read and its characters' peak frames as x fractions of the crop."""
    images = plate_batch(crops)
    with torch.no_grad():
        probs = model(images).exp().numpy()
        frames = probs.shape[1]
        # frame centres in affine_grid's coordinates (-1 left edge, 1 right edge), on the centre row
        xs = (np.arange(frames) + 0.5) / frames * 2 - 1
        rectifier = getattr(model, "rectifier", None)
        if rectifier is not None:
            theta = rectifier.maps(images).numpy()  # (N, 2, 3): x_in = a x_out + b y_out + c, y_out = 0
            centres = theta[:, 0, 0, None] * xs[None] + theta[:, 0, 2, None]
        else:
            centres = np.broadcast_to(xs, (len(crops), frames))
    fractions = np.clip((centres + 1) / 2, 0.0, 1.0)
    out = []
    for p, x in zip(probs, fractions, strict=True):
        best = p.argmax(axis=1)
        read, peaks, t = "", [], 0
        while t < frames:  # collapse runs as the greedy decoder does, a character's peak at its run's best frame
            cls, end = int(best[t]), t
            while end + 1 < frames and best[end + 1] == cls:
                end += 1
            if cls != BLANK:
                read += ALPHABET[cls - 1]
                peaks.append(float(x[t + int(p[t : end + 1, cls].argmax())]))
            t = end + 1
        out.append((read, peaks))
    return out


def cell_cuts(centres: list[float], crop: Image.Image | None = None) -> tuple[float, ...]:
    """Cuts around characters peaking at these x fractions: midway between neighbours, the outer cells mirrored
    about their peaks (clipped to the crop), so the plate's margins are not carried into a cell.

    With the crop, each cut moves to the column of least ink in the middle half of its stretch between the
    peaks (mirrored at the ends): the lead's peaks sit up to a few input columns off the glyphs' centres
    (left of them early in the plate), so plain midpoints clipped stems off H, L and 1 on the samples."""
    if len(centres) < 2:
        return (0.0, 1.0)
    mids = [(a + b) / 2 for a, b in itertools.pairwise(centres)]
    cuts = [max(0.0, 2 * centres[0] - mids[0]), *mids, min(1.0, 2 * centres[-1] - mids[-1])]
    if crop is None:
        return tuple(cuts)
    ink = _ink(crop)
    width = len(ink)
    # each cut's stretch: between its two peaks, or between the outer peak and its mirrored neighbour
    bounds = [2 * centres[0] - centres[1], *centres, 2 * centres[-1] - centres[-2]]
    snapped = []
    for cut, low, high in zip(cuts, bounds, bounds[1:], strict=False):
        lo = max(0, min(width - 1, round((0.75 * low + 0.25 * high) * width)))
        hi = max(lo + 1, min(width, round((0.25 * low + 0.75 * high) * width)))
        window = ink[lo:hi]
        # the faintest column; among near ties the one nearest the midpoint
        faint = np.flatnonzero(window <= window.min() + 0.02 * (ink.max() - ink.min() + 1e-6)) + lo
        best = faint[np.argmin(np.abs(faint + 0.5 - cut * width))]
        snapped.append(min(1.0, max(0.0, (best + 0.5) / width)))
    return tuple(snapped)


def _ink(crop: Image.Image) -> np.ndarray:
    """Each column's ink: mean distance from the plate's background (the median) over the middle rows, where the
    characters are and the frame, bolts and slogans mostly are not; dark-on-light and light-on-dark alike."""
    pixels = np.asarray(crop.convert("L"), dtype=np.float32)
    h = pixels.shape[0]
    band = pixels[round(h * 0.25) : max(round(h * 0.25) + 1, round(h * 0.75))]
    return np.abs(band - np.median(band)).mean(axis=0)


def _columns(width: int, cuts: tuple[float, ...]) -> list[int]:
    """The cuts as pixel columns, never decreasing (so every cell and margin is a width >= 0)."""
    columns = [0, *(round(c * width) for c in cuts), width]
    for i in range(1, len(columns)):
        columns[i] = min(width, max(columns[i], columns[i - 1]))
    return columns


def shuffle_cells(crop: Image.Image, cuts: tuple[float, ...], order: list[int]) -> Image.Image:
    """The crop with its cells in `order` (cell order[k] placed k-th), the margins where they were: the same size."""
    columns = _columns(crop.width, cuts)
    # pieces: the left margin, the cells, the right margin
    pieces = [crop.crop((a, 0, b, crop.height)) for a, b in itertools.pairwise(columns)]
    out = Image.new(crop.mode, crop.size)
    x = 0
    for piece in [pieces[0], *(pieces[1 + i] for i in order), pieces[-1]]:
        out.paste(piece, (x, 0))
        x += piece.width
    return out


def shuffled_crop(rng: random.Random, segmented: SegmentedPlate) -> tuple[Image.Image, str]:
    """The plate with its cells in a random order other than its own, and its label re-ordered alike, cropped and
    degraded as a real crop is (`augment.real_crop`: a jittered box around it, its neighbourhood, a warp at times)."""
    n = len(segmented.plate)
    order = list(range(n))
    while n >= 2 and order == sorted(order):
        rng.shuffle(order)
    region = segmented.region.copy()
    x, y, _, _ = segmented.box
    # back where it was cut, so the jittered box takes in the photo's own surroundings
    region.paste(shuffle_cells(segmented.crop, segmented.cuts, order), (round(x), round(y)))
    return real_crop(rng, region, segmented.box), "".join(segmented.plate[i] for i in order)
