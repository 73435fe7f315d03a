"""Generated road scenes: sky-and-road gradients, car-like blocks carrying plates, and clutter that is not a plate.

The clutter teaches what a plate is not: signs too long or too square, words painted straight on a wall, window
grids, lane marks, tail lights and bright rectangles without characters.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw

from services.recognizer.detector.compose import free_spot, paste_plate, plate_pose, plate_width
from services.recognizer.detector.targets import Quad, box_of
from services.recognizer.engine.synth import PLATE_FONTS, font

WORDS = (
    *("STOP", "ONE WAY", "SPEED LIMIT", "NO PARKING", "EXIT", "MAIN ST", "PIZZA", "OPEN", "SALE", "TAXI", "BUS"),
    *("POLICE", "HOTEL", "PARKING", "DRIVE THRU", "RIGHT LANE", "CAFE", "24 HR", "ELM AVE", "YIELD", "AUTO"),
)


def background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A vertical gradient (sky or wall above, road below) with blotches of texture."""
    w, h = size
    top, bottom = rng.randint(40, 230), rng.randint(20, 160)
    ramp = np.linspace(top, bottom, h, dtype=np.float32)[:, None].repeat(w, axis=1)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(0, 12), (h // 8 + 1, w // 8 + 1))
    texture = np.kron(noise, np.ones((8, 8), np.float32))[:h, :w]
    scene = Image.fromarray(np.clip(ramp + texture, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(scene)
    for _ in range(rng.randint(0, 6)):  # buildings, trees, shadows
        x0, y0 = rng.uniform(-w / 4, w), rng.uniform(-h / 4, h)
        box = (x0, y0, x0 + rng.uniform(20, w / 2), y0 + rng.uniform(20, h / 2))
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)(box, fill=rng.randint(0, 255))
    return scene


def car(rng: random.Random, draw: ImageDraw.ImageDraw, width: float, centre: tuple[float, float]) -> None:
    """A car's rear or front around a plate centre: body, window, lights and a bumper line."""
    cx, cy = centre
    body = rng.randint(0, 255)
    top = cy - width * rng.uniform(0.5, 0.9)
    draw.rounded_rectangle((cx - width, top, cx + width, cy + width * 0.45), radius=width * 0.15, fill=body)
    draw.rectangle((cx - width * 0.75, top - width * 0.5, cx + width * 0.75, top), fill=rng.randint(0, 80))
    light = rng.randint(150, 255)
    for side in (-1, 1):
        lx = cx + side * width * rng.uniform(0.7, 0.9)
        draw.rectangle((lx - width * 0.12, top + width * 0.1, lx + width * 0.12, top + width * 0.3), fill=light)
    bumper = cy + width * rng.uniform(0.25, 0.35)
    draw.rectangle((cx - width, bumper, cx + width, bumper + width * 0.08), fill=rng.randint(0, 120))


def clutter(rng: random.Random, scene: Image.Image) -> None:
    """Things a careless detector calls plates: signs of the wrong shape, bare words, windows, marks, lights."""
    draw = ImageDraw.Draw(scene)
    w, h = scene.size
    for _ in range(rng.randint(0, 6)):
        kind = rng.random()
        x0, y0 = rng.uniform(-10, w), rng.uniform(-10, h)
        size = rng.uniform(8, 60)
        if kind < 0.35:  # a word on a long sign, or painted straight on a wall
            face = font(rng.choice(PLATE_FONTS), max(6, int(size * 0.6)))
            word = rng.choice(WORDS)
            ink, paper = (rng.randint(0, 80), rng.randint(170, 255))[:: rng.choice((1, -1))]
            if rng.random() < 0.6:
                left, upper, right, lower = draw.textbbox((x0, y0), word, font=face)
                pad = size * 0.2
                draw.rectangle((left - pad, upper - pad, right + pad, lower + pad), fill=paper)
            draw.text((x0, y0), word, fill=ink, font=face)
        elif kind < 0.55:  # a plain bright or dark rectangle, any aspect: a plate needs characters
            aspect = rng.uniform(0.5, 4)
            draw.rectangle((x0, y0, x0 + size * aspect, y0 + size), fill=rng.randint(0, 255))
        elif kind < 0.7:  # a grid of windows
            step = rng.uniform(6, 20)
            for i in range(rng.randint(2, 6)):
                for j in range(rng.randint(1, 4)):
                    x, y = x0 + i * step * 1.5, y0 + j * step * 1.5
                    draw.rectangle((x, y, x + step, y + step), fill=rng.randint(0, 255))
        elif kind < 0.85:  # lane marks and poles
            draw.line((x0, y0, x0 + rng.uniform(-80, 80), y0 + rng.uniform(-80, 80)), fill=255, width=rng.randint(1, 6))
        else:  # digits or letters scattered without a plate around them (a house number, a shop's hours)
            face = font(rng.choice(PLATE_FONTS), max(6, int(size * 0.5)))
            text = "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 4)))
            draw.text((x0, y0), text, fill=rng.randint(0, 255), font=face)


def timestamp(rng: random.Random, scene: Image.Image) -> None:
    """A camera's date and time burnt into the frame: digits in a row, the commonest false plate on CCTV."""
    draw = ImageDraw.Draw(scene)
    face = font(rng.choice(PLATE_FONTS), rng.randint(7, 16))
    year, month, day = rng.randint(2005, 2030), rng.randint(1, 12), rng.randint(1, 28)
    clock = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    text = f"{year}-{month:02d}-{day:02d}" + rng.choice((" ", "\n")) + clock
    x, y = rng.uniform(0, scene.width * 0.8), rng.uniform(0, scene.height * 0.9)
    if rng.random() < 0.4:
        draw.rectangle(draw.multiline_textbbox((x, y), text, font=face), fill=rng.randint(0, 40))
    draw.multiline_text((x, y), text, fill=rng.randint(200, 255), font=face)


def road_scene(rng: random.Random, size: tuple[int, int], plates: int) -> tuple[Image.Image, list[Quad]]:
    """A generated scene with up to `plates` plates, most on car-like blocks, and clutter; grey, undamaged."""
    scene = background(rng, size)
    clutter(rng, scene)
    quads: list[Quad] = []
    for _ in range(plates):
        width = plate_width(rng)
        spot = free_spot(rng, size, width, quads)
        if spot is not None:
            quads.append(plate_pose(rng, spot, width))
    # every car first, then every plate: a car drawn later would cover an earlier plate
    draw = ImageDraw.Draw(scene)
    for quad in quads:
        x, y, w, h = box_of(quad)
        if rng.random() < 0.7:
            car(rng, draw, w * rng.uniform(1.6, 2.4), (x + w / 2, y + h / 2))
    for quad in quads:
        paste_plate(rng, scene, quad)
    if rng.random() < 0.15:
        timestamp(rng, scene)
    return scene, quads
