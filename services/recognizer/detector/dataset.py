"""Training samples: the non-held-out shared photos (their labelled plate kept, up to two plates added) and
generated road scenes, each a grey patch in input pixels with its plates' corners, and their grid targets."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import IterableDataset, get_worker_info

from services.recognizer.detector.compose import degrade, free_spot, paste_plate, plate_pose, plate_width
from services.recognizer.detector.frame import fit_scale, standardise
from services.recognizer.detector.model import STRIDE
from services.recognizer.detector.scenes import road_scene, timestamp
from services.recognizer.detector.targets import Quad, box_quad, encode
from services.recognizer.engine.dataset import holdout_names, read_labels

PATCH = (320, 192)  # training patches: a quarter of the input canvas, so four times the steps per minute
PHOTO_SHARE = 0.5  # of samples cut from the real photos; the rest are generated road scenes
NATURAL_SCALE_SHARE = 0.5  # of photo samples at the scale inference uses; the rest at a random plate width


@dataclass(frozen=True)
class Photo:
    """A shared photo in grey with its one labelled plate box (x, y, w, h in its pixels)."""

    image: Image.Image
    box: tuple[float, float, float, float]


def load_photos(data_dir: Path, *, exclude: set[str] | None = None) -> list[Photo]:
    """The labelled photos less the hold-out (never trained on, never used to choose anything)."""
    excluded = holdout_names() if exclude is None else exclude
    photos = []
    for row in read_labels(data_dir / "labels.tsv"):
        if row.image in excluded:
            continue
        with Image.open(data_dir / "images" / row.image) as image:
            photos.append(Photo(image.convert("L"), row.box))
    return photos


def photo_sample(rng: random.Random, photo: Photo) -> tuple[Image.Image, list[Quad]]:
    """A patch of a real photo at the inference scale or a random one, mostly around its plate, plus 0-2 plates."""
    x, y, w, h = photo.box
    if rng.random() < NATURAL_SCALE_SHARE:
        scale = fit_scale(photo.image.size) * rng.uniform(0.85, 1.15)
    else:
        # at most 1.5 times the photo's own pixels: a small plate blown up further looks like no camera's
        scale = min(plate_width(rng) / w, 1.5)
    pw, ph = PATCH[0] / scale, PATCH[1] / scale  # the patch in the photo's pixels
    if rng.random() < 0.85:  # the plate inside the patch, anywhere
        left = rng.uniform(x + w - pw, x) if pw > w else x + w / 2 - pw / 2
        top = rng.uniform(y + h - ph, y) if ph > h else y + h / 2 - ph / 2
    else:
        left = rng.uniform(-pw / 4, max(0.0, photo.image.width - pw * 0.75))
        top = rng.uniform(-ph / 4, max(0.0, photo.image.height - ph * 0.75))
    region = photo.image.crop((round(left), round(top), round(left + pw), round(top + ph)))
    patch = region.resize(PATCH, Image.Resampling.BILINEAR)
    sx, sy = PATCH[0] / max(1, round(left + pw) - round(left)), PATCH[1] / max(1, round(top + ph) - round(top))
    quad = box_quad((x - round(left)) * sx, (y - round(top)) * sy, w * sx, h * sy)
    quads = [quad] if _inside(quad) else []
    if rng.random() < 0.5:  # mirrored: 148 photos seen hundreds of times each need every variation they can get
        patch = patch.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        quads = [mirror(q, PATCH[0]) for q in quads]
    for _ in range(rng.choice((0, 0, 1, 2))):
        add_plate(rng, patch, quads)
    if rng.random() < 0.1:  # may cover a plate: the label stays (a plate behind a thin overlay is still one)
        timestamp(rng, patch)
    return patch, quads


def mirror(quad: Quad, width: float) -> Quad:
    """The plate's corners after a left-right flip of a patch `width` wide, still TL, TR, BR, BL."""
    (tl, tr, br, bl) = [(width - x, y) for x, y in quad]
    return (tr, tl, bl, br)


def _inside(quad: Quad) -> bool:
    """A plate at least two-thirds inside the patch is a target; one mostly outside cannot be found."""
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    w, h = max(xs) - min(xs), max(ys) - min(ys)
    seen_w = min(max(xs), PATCH[0]) - max(min(xs), 0)
    seen_h = min(max(ys), PATCH[1]) - max(min(ys), 0)
    return seen_w > 0 and seen_h > 0 and seen_w * seen_h >= 0.66 * w * h


def add_plate(rng: random.Random, scene: Image.Image, quads: list[Quad]) -> None:
    """Paste one more rendered plate where it overlaps none of the scene's plates."""
    width = plate_width(rng)
    spot = free_spot(rng, scene.size, width, quads)
    if spot is not None:
        quad = plate_pose(rng, spot, width)
        paste_plate(rng, scene, quad)
        quads.append(quad)


def sample(rng: random.Random, photos: list[Photo]) -> tuple[np.ndarray, list[Quad]]:
    """One training patch (standardised, (H, W)) and its plates, from a photo or a generated scene."""
    if photos and rng.random() < PHOTO_SHARE:
        scene, quads = photo_sample(rng, rng.choice(photos))
    else:
        scene, quads = road_scene(rng, PATCH, rng.choice((0, 1, 1, 2, 2, 3)))
    return standardise(np.asarray(degrade(rng, scene))), quads


class SceneStream(IterableDataset[tuple[np.ndarray, dict[str, np.ndarray]]]):
    """Endless (patch, targets) pairs, seeded per worker so a run repeats."""

    def __init__(self, photos: list[Photo], *, seed: int) -> None:
        self.photos = photos
        self.seed = seed

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        worker = get_worker_info()
        rng = random.Random(self.seed * 1000 + (worker.id if worker else 0))
        grid = (PATCH[1] // STRIDE, PATCH[0] // STRIDE)
        while True:
            pixels, quads = sample(rng, self.photos)
            yield pixels, encode(quads, grid)


def collate(batch: list[tuple[np.ndarray, dict[str, np.ndarray]]]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Patches (N,1,H,W) and each target stacked along N."""
    images = torch.from_numpy(np.stack([b[0] for b in batch])[:, None])
    targets = {key: torch.from_numpy(np.stack([b[1][key] for b in batch])) for key in batch[0][1]}
    return images, targets
