"""A camera frame as the detector sees it: grey, scaled to fit 640x384 (aspect kept) and padded, standardised."""

from __future__ import annotations

import numpy as np
from PIL import Image

from services.recognizer.detector.model import INPUT_HEIGHT, INPUT_WIDTH

CANVAS = (INPUT_WIDTH, 384)  # 360 rounded up to a multiple of 32, so every stride divides the grid evenly
PAD_GREY = 114  # a neutral grey; a black or white border would be a hard edge the network learns to notice
assert INPUT_HEIGHT <= CANVAS[1]


def fit_scale(size: tuple[int, int], canvas: tuple[int, int] = CANVAS) -> float:
    """The factor that fits a frame inside the canvas without changing its aspect."""
    return min(canvas[0] / size[0], canvas[1] / size[1])


def standardise(pixels: np.ndarray) -> np.ndarray:
    """Fixed standardisation (not per frame: a dark night frame must stay dark relative to its headlights)."""
    return (pixels.astype(np.float32) - 127.5) / 64.0


def letterbox(image: Image.Image, canvas: tuple[int, int] = CANVAS) -> tuple[np.ndarray, float]:
    """The standardised (H, W) input array and the scale from frame pixels to input pixels."""
    scale = fit_scale(image.size, canvas)
    grey = image.convert("L")
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size != grey.size:
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    padded = np.full((canvas[1], canvas[0]), PAD_GREY, np.uint8)
    padded[: size[1], : size[0]] = np.asarray(grey)
    return standardise(padded), scale
