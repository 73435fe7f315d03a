"""Augmentation: put a plate in a scene, crop it as a vendor box would, and degrade it like a roadside camera."""

from __future__ import annotations

import io
import math
import random

import numpy as np
import torchvision.transforms.functional as F
from PIL import Image, ImageDraw, ImageFilter

Box = tuple[float, float, float, float]  # x, y, width, height
# the grey value's share of independent per-channel noise: sqrt(0.299² + 0.587² + 0.114²), PIL's luma weights
GREY_NOISE_SHARE = 0.668


# a share of crops is cut at the plate's own edges, as a detector's or a vendor's tight box cuts it (the
# held-back crops the issue describes fill the image, edges at or near the border)
TIGHT_SHARE = 0.35
LOOSE = ((-0.06, 0.14), (-0.08, 0.22))  # each side's move, as a share of the width and of the height
TIGHT = ((-0.03, 0.04), (-0.04, 0.06))


def jitter_box(rng: random.Random, box: Box, *, strength: float = 1.0, tight: bool = False) -> Box:
    """Loosen, tighten and shift a plate box, as boxes from other detectors differ from ours."""
    x, y, w, h = box
    (x_low, x_high), (y_low, y_high) = TIGHT if tight else LOOSE
    left = w * rng.uniform(x_low, x_high) * strength
    right = w * rng.uniform(x_low, x_high) * strength
    top = h * rng.uniform(y_low, y_high) * strength
    bottom = h * rng.uniform(y_low, y_high) * strength
    return x - left, y - top, w + left + right, h + top + bottom


def crop_box(image: Image.Image, box: Box) -> Image.Image:
    """Crop a box that may reach past the frame (PIL pads with black there, as a bad box would)."""
    x, y, w, h = box
    return image.crop((round(x), round(y), round(x + max(w, 2)), round(y + max(h, 2))))


def _scene(rng: random.Random, plate: Image.Image) -> tuple[Image.Image, Box]:
    w, h = plate.size
    mx, my = int(w * 0.22), int(h * 0.4)
    paint = tuple(rng.randint(0, 230) for _ in range(3))
    scene = Image.new("RGB", (w + 2 * mx, h + 2 * my), paint)
    draw = ImageDraw.Draw(scene)
    for _ in range(rng.randint(0, 3)):  # bumper edges, frame and shadows around the plate
        y0 = rng.randint(0, scene.height)
        shade = tuple(rng.randint(0, 255) for _ in range(3))
        draw.rectangle((0, y0, scene.width, y0 + rng.randint(3, 40)), fill=shade)
    if rng.random() < 0.5:  # a plate frame around the plate
        pad = rng.randint(2, 8)
        shade = tuple([rng.randint(0, 80)] * 3)
        draw.rectangle((mx - pad, my - pad, mx + w + pad, my + h + pad * 2), fill=shade)
    scene.paste(plate, (mx, my))
    if rng.random() < 0.25:  # the frame's lower bar covers the slogan
        draw.rectangle((mx, my + h - rng.randint(4, h // 7), mx + w, my + h + 6), fill=tuple([rng.randint(0, 90)] * 3))
    return scene, (mx, my, w, h)


def perspective_coefficients(start: list[list[int]], end: list[list[int]]) -> list[float]:
    """PIL's perspective coefficients that move `start` corners to `end` (torchvision's maths, in numpy).

    torchvision solves the same 8x8 system with torch's least squares, a third of the warp's cost on a crop.
    """
    rows = []
    for (sx, sy), (ex, ey) in zip(start, end, strict=True):
        rows.append([ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey])
        rows.append([0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey])
    solution = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(start, dtype=np.float64).reshape(8))
    return [float(c) for c in solution.astype(np.float32)]


def _warp(rng: random.Random, image: Image.Image) -> Image.Image:
    """Tilt and rotate in one perspective warp (one resampling pass is half the cost of two)."""
    w, h = image.size
    d, angle = 0.06, math.radians(rng.uniform(-6, 6))
    cos, sin = math.cos(angle), math.sin(angle)
    start = [[0, 0], [w, 0], [w, h], [0, h]]
    end = []
    for sx, sy in start:
        px, py = sx + rng.uniform(-d, d) * w - w / 2, sy + rng.uniform(-d, d) * h - h / 2
        end.append([int(px * cos - py * sin + w / 2), int(px * sin + py * cos + h / 2)])
    try:
        coefficients = perspective_coefficients(start, end)
    except np.linalg.LinAlgError:  # corners that collapse onto a line on a crop a few pixels wide: leave it flat
        return image
    return image.transform(image.size, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)


def degrade(rng: random.Random, crop: Image.Image, *, strength: float = 1.0) -> Image.Image:
    """Blur, light, night, noise and JPEG artefacts on a grey plate crop (`L` mode: the network reads grey)."""
    if rng.random() < 0.4 * strength:
        crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))  # PIL's blur is 10x torch's on tiny crops
    crop = F.adjust_brightness(crop, rng.uniform(1 - 0.35 * strength, 1 + 0.35 * strength))
    crop = F.adjust_contrast(crop, rng.uniform(1 - 0.45 * strength, 1 + 0.3 * strength))
    if rng.random() < 0.12 * strength:  # night: dark, contrasty, tinted by sodium or infrared light
        crop = F.adjust_gamma(F.adjust_brightness(crop, rng.uniform(0.4, 0.8)), rng.uniform(1.0, 1.6))
    if rng.random() < 0.5 * strength:
        pixels = np.asarray(crop, dtype=np.float32)
        # sensor noise drawn per colour channel used to be this much larger before the grey conversion averaged it
        sigma = rng.uniform(2, 14) * GREY_NOISE_SHARE
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, sigma, pixels.shape).astype(np.float32)
        crop = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    if rng.random() < 0.5 * strength:
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=rng.randint(15, 85))
        crop = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return crop


def framed_crop(rng: random.Random, image: Image.Image, box: Box, *, warp: bool) -> Image.Image:
    """Crop a jittered box at a camera-like low resolution, warping only a padded neighbourhood (cheap)."""
    x, y, w, h = jitter_box(rng, box, tight=rng.random() < TIGHT_SHARE)
    px, py = w * 0.12, h * 0.15
    padded = crop_box(image, (x - px, y - py, w + 2 * px, h + 2 * py))
    scale = min(1.0, rng.randint(36, 150) / w) if rng.random() < 0.75 else 1.0
    padded = padded.resize((max(4, round(padded.width * scale)), max(4, round(padded.height * scale))))
    if warp:
        padded = _warp(rng, padded)
    return padded.crop((round(px * scale), round(py * scale), round((px + w) * scale), round((py + h) * scale)))


def synthetic_crop(rng: random.Random, plate: Image.Image) -> Image.Image:
    """A rendered plate as the recognizer would receive it from a vendor box."""
    scene, box = _scene(rng, plate)
    # grey from here on: warping, resizing and degrading one channel costs a third of three
    return degrade(rng, framed_crop(rng, scene.convert("L"), box, warp=True))


def real_crop(rng: random.Random, photo: Image.Image, box: Box) -> Image.Image:
    """A labelled grey photo crop with a jittered box and milder degradation (the photo is already real)."""
    return degrade(rng, framed_crop(rng, photo, box, warp=rng.random() < 0.5), strength=0.4)
