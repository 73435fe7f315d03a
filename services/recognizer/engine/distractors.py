"""Marks on a plate that are not characters: emblems, mid-plate stickers and small registration text.

Held-out misreads came mostly from these (a Missouri sticker read as `A`, the Arizona cactus as `U`,
New Jersey's small registration digits as a seventh character), so synthetic plates carry many of them.
"""

from __future__ import annotations

import math
import random
import string
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@lru_cache(maxsize=16384)
def _text_mask(text: str, face: ImageFont.FreeTypeFont) -> tuple[Image.Image, int, int]:
    left, top, right, bottom = (int(v) for v in face.getbbox(text))
    mask = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(mask).text((-left, -top), text, font=face, fill=255)
    return mask, left, top


@lru_cache(maxsize=16384)
def text_width(text: str, face: ImageFont.FreeTypeFont) -> float:
    """`draw.textlength`, remembered."""
    return face.getlength(text)


def print_text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, face: ImageFont.FreeTypeFont, fill: Colour
) -> None:
    """`draw.text` at a whole pixel, rasterising each (text, face) once.

    Plates repeat their state names, slogans and sticker digits, and FreeType's rendering was a fifth of the
    training loader's time.
    """
    mask, left, top = _text_mask(text, face)
    draw.bitmap((round(xy[0]) + left, round(xy[1]) + top), mask, fill=fill)


def random_colour(rng: random.Random) -> Colour:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def _star(draw: ImageDraw.ImageDraw, rect: Rect, fill: Colour) -> None:
    x0, y0, x1, y1 = rect
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2
    points = [
        (
            cx + (r if i % 2 == 0 else r * 0.42) * math.sin(i * math.pi / 5),
            cy - (r if i % 2 == 0 else r * 0.42) * math.cos(i * math.pi / 5),
        )
        for i in range(10)
    ]
    draw.polygon(points, fill=fill)


def _silhouette(draw: ImageDraw.ImageDraw, rng: random.Random, rect: Rect, fill: Colour) -> None:
    """A state outline or logo: an irregular filled polygon."""
    x0, y0, x1, y1 = rect
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = (x1 - x0) / 2, (y1 - y0) / 2
    n = rng.randint(5, 11)
    points = []
    for i in range(n):
        a = 2 * math.pi * i / n + rng.uniform(-0.2, 0.2)
        k = rng.uniform(0.55, 1.0)
        points.append((cx + rx * k * math.cos(a), cy + ry * k * math.sin(a)))
    draw.polygon(points, fill=fill)


def _cactus(draw: ImageDraw.ImageDraw, rng: random.Random, rect: Rect, fill: Colour) -> None:
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    cx = (x0 + x1) / 2
    trunk = max(2.0, w * rng.uniform(0.22, 0.34))
    draw.rectangle((cx - trunk / 2, y0, cx + trunk / 2, y1), fill=fill)
    for side in (-1, 1):
        arm_y = y0 + h * rng.uniform(0.25, 0.55)
        ax = cx + side * w * 0.4
        draw.rectangle((min(cx, ax), arm_y, max(cx, ax), arm_y + trunk * 0.8), fill=fill)
        draw.rectangle(
            (ax - trunk * 0.4, arm_y - h * rng.uniform(0.15, 0.3), ax + trunk * 0.4, arm_y + trunk * 0.8), fill=fill
        )


def _seal(draw: ImageDraw.ImageDraw, rng: random.Random, rect: Rect, fill: Colour) -> None:
    """A round seal or logo: a ring with something inside."""
    x0, y0, x1, y1 = rect
    r = min(x1 - x0, y1 - y0) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    draw.ellipse(
        (cx - r, cy - r, cx + r, cy + r),
        outline=fill,
        width=max(1, int(r / 4)),
        fill=random_colour(rng) if rng.random() < 0.5 else None,
    )
    draw.ellipse((cx - r * 0.4, cy - r * 0.4, cx + r * 0.4, cy + r * 0.4), fill=fill)


def _flag(draw: ImageDraw.ImageDraw, rng: random.Random, rect: Rect, fill: Colour) -> None:
    x0, y0, x1, y1 = rect
    draw.rectangle(rect, fill=random_colour(rng))
    for i in range(rng.randint(2, 5)):
        y = y0 + (y1 - y0) * (i + 0.5) / 5
        draw.line((x0, y, x1, y), fill=fill, width=max(1, int((y1 - y0) / 10)))
    _star(draw, (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2), fill)


def _heart(draw: ImageDraw.ImageDraw, rect: Rect, fill: Colour) -> None:
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    draw.ellipse((x0, y0, x0 + w * 0.55, y0 + h * 0.5), fill=fill)
    draw.ellipse((x1 - w * 0.55, y0, x1, y0 + h * 0.5), fill=fill)
    draw.polygon(((x0, y0 + h * 0.3), (x1, y0 + h * 0.3), ((x0 + x1) / 2, y1)), fill=fill)


def sticker(draw: ImageDraw.ImageDraw, rng: random.Random, rect: Rect, face: ImageFont.FreeTypeFont) -> None:
    """A registration sticker: a coloured tab, often with small print (digits or a month) on it."""
    x0, y0, x1, y1 = rect
    colour = random_colour(rng)
    if rng.random() < 0.3:  # worn or half-peeled: a blotch rather than a rectangle
        draw.ellipse(rect, fill=colour)
    else:
        draw.rectangle(rect, fill=colour)
    if rng.random() < 0.7 and y1 - y0 > 5:
        text = rng.choice((str(rng.randint(0, 99)).zfill(2), rng.choice(MONTHS), str(rng.randint(2005, 2029))))
        light = sum(colour) > 380
        if text_width(text, face) > x1 - x0 + 2:  # print spilling onto the characters would mislabel them
            return
        print_text(draw, (x0 + 1, y0), text, face, (0, 0, 0) if light else (250, 250, 250))


def emblem(
    draw: ImageDraw.ImageDraw, rng: random.Random, rect: Rect, ink: Colour, face: ImageFont.FreeTypeFont
) -> None:
    """One non-character mark inside `rect`: sticker, star, state outline, cactus, seal, flag or heart."""
    fill = ink if rng.random() < 0.5 else random_colour(rng)
    kind = rng.randrange(7)
    if kind == 0:
        sticker(draw, rng, rect, face)
    elif kind == 1:
        _star(draw, rect, fill)
    elif kind == 2:
        _silhouette(draw, rng, rect, fill)
    elif kind == 3:
        _cactus(draw, rng, rect, fill)
    elif kind == 4:
        _seal(draw, rng, rect, fill)
    elif kind == 5:
        _flag(draw, rng, rect, fill)
    else:
        _heart(draw, rect, fill)


def small_print(rng: random.Random) -> str:
    """Registration digits, a month or a county code: printed small beside the plate number."""
    choice = rng.random()
    if choice < 0.5:
        return str(rng.randint(0, 99)).zfill(rng.choice((1, 2)))
    if choice < 0.7:
        return rng.choice(MONTHS)
    return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.randint(1, 3)))
