"""Augmentation: the warp's maths against torchvision's, and the grey crops training reads."""

from __future__ import annotations

import math
import random

import pytest
import torchvision.transforms.functional as F
from PIL import Image

from services.recognizer.engine.augment import GREY_NOISE_SHARE, perspective_coefficients, real_crop, synthetic_crop
from services.recognizer.engine.synth import render_plate


@pytest.mark.parametrize("seed", range(20))
def test_perspective_coefficients_are_torchvisions(seed: int) -> None:
    rng = random.Random(seed)
    w, h = rng.randint(20, 200), rng.randint(10, 100)
    start = [[0, 0], [w, 0], [w, h], [0, h]]
    end = [[x + rng.randint(-8, 8), y + rng.randint(-5, 5)] for x, y in start]
    expected = F._get_perspective_coeffs(start, end)  # what F.perspective(image, start, end) hands to PIL
    assert perspective_coefficients(start, end) == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_a_warped_crop_matches_torchvision_pixel_for_pixel_but_rounding() -> None:
    image = render_plate(random.Random(2), size=(160, 80)).image.convert("L")
    start, end = [[0, 0], [160, 0], [160, 80], [0, 80]], [[6, -3], [155, 4], [162, 77], [-2, 83]]
    ours = image.transform(image.size, Image.Transform.PERSPECTIVE, perspective_coefficients(start, end))
    theirs = F.perspective(image, start, end, interpolation=F.InterpolationMode.NEAREST)
    differing = sum(a != b for a, b in zip(ours.tobytes(), theirs.tobytes(), strict=True))
    assert differing / (160 * 80) < 0.01


def test_training_crops_are_grey_as_the_network_reads_them() -> None:
    rng = random.Random(4)
    photo = Image.new("L", (400, 300), 128)
    assert {synthetic_crop(rng, render_plate(rng).image).mode for _ in range(30)} == {"L"}
    assert {real_crop(rng, photo, (150, 120, 100, 50)).mode for _ in range(30)} == {"L"}


def test_grey_noise_keeps_what_the_grey_conversion_left_of_per_channel_noise() -> None:
    assert GREY_NOISE_SHARE == pytest.approx(math.sqrt(0.299**2 + 0.587**2 + 0.114**2), abs=1e-3)
