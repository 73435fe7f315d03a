"""Putting rendered plates into scenes: a random pose (scale, rotation, perspective) warped in, and camera damage.

All in grey (`L`), the detector's input, at the scale the network sees (input pixels: a 1280-wide frame halved).
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from services.recognizer.detector.targets import Quad, box_of
from services.recognizer.engine.augment import perspective_coefficients
from services.recognizer.engine.synth import render_plate

# plates 30-250 px wide in a 1280-wide frame are 15-125 px in the 640-wide input; close-ups (a plate a third of a
# small photo's width, as some shared photos are) reach 250
PLATE_WIDTH = (15.0, 125.0)
CLOSE_UP_WIDTH = (125.0, 250.0)
CLOSE_UP_SHARE = 0.12


def plate_width(rng: random.Random) -> float:
    """A plate width in input pixels, log-uniform so small plates (the hard ones) are as common as large."""
    low, high = CLOSE_UP_WIDTH if rng.random() < CLOSE_UP_SHARE else PLATE_WIDTH
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def plate_pose(rng: random.Random, centre: tuple[float, float], width: float) -> Quad:
    """The four corners of a plate at `centre`: US aspect about 2:1, rotated up to 15°, with perspective."""
    height = width * rng.uniform(0.42, 0.62)
    near, far = 1.0, rng.uniform(0.8, 1.0)  # one side further from the camera looks shorter
    left, right = (near, far) if rng.random() < 0.5 else (far, near)
    shear = rng.uniform(-0.12, 0.12) * height
    corners = [
        (-width / 2 - shear, -height / 2 * left),
        (width / 2 - shear, -height / 2 * right),
        (width / 2 + shear, height / 2 * right),
        (-width / 2 + shear, height / 2 * left),
    ]
    angle = math.radians(rng.gauss(0, 6) if rng.random() < 0.8 else rng.uniform(-15, 15))
    angle = max(-math.radians(15), min(math.radians(15), angle))
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = centre
    return tuple((cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in corners)  # type: ignore[return-value]


def paste_plate(rng: random.Random, scene: Image.Image, quad: Quad) -> None:
    """Render a plate and warp it onto the grey scene at `quad`, sometimes inside a dark plate frame."""
    x, y, w, h = box_of(quad)
    size = (240, 120) if w > 70 else (160, 80)
    plate = render_plate(rng, size=size).image.convert("L")
    left, top = math.floor(x) - 2, math.floor(y) - 2
    patch = (math.ceil(w) + 5, math.ceil(h) + 5)
    local = [[px - left, py - top] for px, py in quad]
    pw, ph = size
    try:
        coefficients = perspective_coefficients([[0, 0], [pw, 0], [pw, ph], [0, ph]], local)  # type: ignore[arg-type]  # floats work
    except np.linalg.LinAlgError:
        return
    if rng.random() < 0.5:  # a plate frame or bumper recess: a darker quadrilateral a little larger than the plate
        grow = rng.uniform(1.05, 1.2)
        cx, cy = x + w / 2, y + h / 2
        frame = [(cx + (px - cx) * grow, cy + (py - cy) * (grow + 0.08)) for px, py in quad]
        ImageDraw.Draw(scene).polygon(frame, fill=rng.randint(0, 90))
    warped = plate.transform(patch, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)
    mask = Image.new("L", size, 255).transform(patch, Image.Transform.PERSPECTIVE, coefficients)
    if rng.random() < 0.3:  # dirty, shaded or faded plates
        dimmed = np.asarray(warped, np.float32) * rng.uniform(0.55, 1.0) + rng.randint(0, 40)
        warped = Image.fromarray(np.clip(dimmed, 0, 255).astype(np.uint8))
    scene.paste(warped, (left, top), mask)


def free_spot(rng: random.Random, size: tuple[int, int], width: float, taken: list[Quad]) -> tuple[float, float] | None:
    """A centre for a plate of `width` that keeps it inside the scene and clear of the plates already there."""
    sw, sh = size
    for _ in range(20):
        cx = rng.uniform(width * 0.6, sw - width * 0.6)
        cy = rng.uniform(width * 0.4, sh - width * 0.4)
        if all(_apart((cx, cy), width, quad) for quad in taken):
            return cx, cy
    return None


def _apart(centre: tuple[float, float], width: float, quad: Quad) -> bool:
    x, y, w, h = box_of(quad)
    return abs(centre[0] - (x + w / 2)) > (w + width) * 0.6 or abs(centre[1] - (y + h / 2)) > (h + width * 0.6) * 0.6


def degrade(rng: random.Random, scene: Image.Image) -> Image.Image:
    """Blur, glare, exposure, night, sensor noise and JPEG, as roadside and CCTV cameras damage a frame."""
    if rng.random() < 0.3:
        scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.4)))
    pixels = np.asarray(scene, dtype=np.float32)
    pixels = pixels * rng.uniform(0.6, 1.3) + rng.uniform(-30, 30)
    if rng.random() < 0.2:  # night: dark and contrasty, the plate and lights brightest
        night = 255 * (np.clip(pixels, 0, 255) / 255) ** rng.uniform(1.5, 2.5) * rng.uniform(0.5, 1.0)
        pixels = night.astype(np.float32)
    if rng.random() < 0.25:  # glare: a soft bright blob (sun, headlight), sometimes over a plate
        h, w = pixels.shape
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 0.4 * w)
        pixels += rng.uniform(60, 220) * np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * r * r))
    if rng.random() < 0.5:
        noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 10), pixels.shape)
        pixels += noise.astype(np.float32)
    scene = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        buffer = io.BytesIO()
        scene.save(buffer, format="JPEG", quality=rng.randint(20, 90))
        scene = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    return scene
