"""Synthetic US plates: state designs (`state_designs`), colours, slogans, stickers and fonts, rendered with PIL."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from services.recognizer.engine.distractors import emblem, print_text, small_print, text_width
from services.recognizer.engine.plate_text import (
    DIGIT_POOL,
    LETTER_POOL,
    LETTERS,
    SLOGANS,
    STATES,
    random_plate_text,
)
from services.recognizer.engine.state_designs import StateDesign, choose_design, design_plate_text

FONT_DIR = Path(__file__).resolve().parent / "fonts"
# DejaVu draws the small print (state names, slogans, stickers); the plate characters come from every face below
PLATE_FONTS = ("DejaVuSansCondensed-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerifCondensed-Bold.ttf")
# condensed gothic faces (OFL, see fonts/OFL.txt) are closer to US plate typefaces than DejaVu: without them
# the reader confused 4/A, M/H, W/M and V/U on real plates, glyph shapes DejaVu draws differently
GLYPH_FACES: tuple[tuple[str, float], ...] = (
    ("DejaVuSansCondensed-Bold.ttf", 3.0),
    ("DejaVuSansMono-Bold.ttf", 1.5),
    ("DejaVuSerifCondensed-Bold.ttf", 0.5),
    ("oswald-500.ttf", 1.0),
    ("oswald-700.ttf", 1.0),
    ("roboto-condensed-500.ttf", 1.0),
    ("roboto-condensed-700.ttf", 1.0),
    ("barlow-condensed-500.ttf", 1.0),
    ("barlow-condensed-700.ttf", 1.0),
    ("archivo-narrow-600.ttf", 1.0),
    ("fjalla-one-400.ttf", 1.0),
    ("antonio-600.ttf", 1.0),
    ("league-gothic-400.ttf", 1.0),
    ("barlow-semi-condensed-600.ttf", 1.0),
    ("sofia-sans-condensed-600.ttf", 1.0),
    ("sofia-sans-condensed-800.ttf", 1.0),
)
# Overpass (OFL), drawn after the FHWA "Highway Gothic" alphabets many states' plate dies follow: an open flag
# 1 with no foot, pointed W and M, a flat-topped 3. Drawn only for `highway_share` of the plates (`train
# --highway-faces`, run P in docs/recognizer-experiments.md), so the default stream is the one before it.
HIGHWAY_FACES = ("overpass-600.ttf", "overpass-800.ttf")
_FACES = [face for face, _ in GLYPH_FACES]
_FACE_WEIGHTS = [weight for _, weight in GLYPH_FACES]
INK = ((20, 30, 110), (15, 15, 20), (150, 20, 25), (20, 80, 40), (90, 20, 30), (35, 35, 70))
PAPER = ((240, 240, 236), (250, 250, 250), (230, 235, 245), (245, 238, 200), (250, 215, 60), (225, 240, 235))


STATE_DESIGN_SHARE = 0.75  # the rest keep the generic mix of layouts, colours, names and slogans


@dataclass(frozen=True)
class SynthPlate:
    image: Image.Image
    plate: str  # the characters a reader must return; stacked and sticker text excluded
    state: str = ""  # the design's state code; "" for a generic plate
    layout: str = ""  # the serial layout drawn (`vanity-N` for a vanity plate)
    face: str = ""  # the font file the plate characters were drawn in


@cache
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """A shipped font at a pixel size (fonts ship with the code, so any machine renders alike)."""
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _tint(rng: random.Random, colour: tuple[int, int, int], spread: int = 15) -> tuple[int, int, int]:
    return (*(min(255, max(0, c + rng.randint(-spread, spread))) for c in colour),)  # type: ignore[return-value]


def _paper(
    rng: random.Random, size: tuple[int, int], design: StateDesign | None = None
) -> tuple[Image.Image, tuple[int, int, int]]:
    w, h = size
    if design is not None:  # the state's colours, as a flat plate or a top-to-bottom gradient
        top, bottom = _tint(rng, design.paper[0]), _tint(rng, design.paper[1])
        plate = Image.new("RGB", size, top)
        if top != bottom:
            ramp = Image.linear_gradient("L").resize(size)
            plate = Image.composite(Image.new("RGB", size, bottom), plate, ramp)
        base, ink = top, _tint(rng, design.ink, 10)
    else:
        dark = rng.random() < 0.12
        base = (rng.randint(10, 60), rng.randint(20, 70), rng.randint(60, 130)) if dark else rng.choice(PAPER)
        plate = Image.new("RGB", size, _tint(rng, base))
        ink = (240, 240, 240) if dark else rng.choice(INK)
    draw = ImageDraw.Draw(plate)
    for _ in range(rng.randint(0, 4)):  # scenery art: mountains, suns, waves in light tints
        tint = tuple(min(255, max(0, c + rng.randint(-60, 30))) for c in base)
        x0, y0 = rng.randint(-w // 2, w), rng.randint(h // 3, h)
        draw.ellipse((x0, y0, x0 + rng.randint(30, w), y0 + rng.randint(10, h)), fill=tint)
    return plate, ink


def _decorate(rng: random.Random, plate: Image.Image, ink: tuple[int, int, int], design: StateDesign | None) -> None:
    draw = ImageDraw.Draw(plate)
    w, h = plate.size
    name_at_top = design is None or design.name_at == "top"
    if rng.random() < (0.95 if design else 0.85):
        name = design.name if design else rng.choice(STATES)
        name = name.upper() if rng.random() < 0.5 else name
        accent = _tint(rng, design.accent, 10) if design else rng.choice(((180, 20, 30), (20, 40, 140), ink))
        f = font(rng.choice(PLATE_FONTS[::2]), rng.randint(int(h * 0.11), int(h * 0.2)))
        tw = text_width(name, f)
        y = rng.randint(1, int(h * 0.08)) if name_at_top else h - f.size - rng.randint(2, int(h * 0.08))
        print_text(draw, ((w - tw) / 2 + rng.randint(-10, 10), y), name, f, accent)
    slogan = rng.choice(design.slogans) if design else rng.choice(SLOGANS)
    if slogan and rng.random() < (0.85 if design else 0.7):  # opposite the name
        f = font(rng.choice(PLATE_FONTS), rng.randint(int(h * 0.08), int(h * 0.14)))
        tw = text_width(slogan, f)
        y = h - f.size - rng.randint(2, int(h * 0.08)) if name_at_top else rng.randint(1, int(h * 0.08))
        print_text(draw, ((w - tw) / 2, y), slogan, f, ink)
    for corner in rng.sample((0, 1), rng.randint(0, 2)):  # registration stickers carry digits the reader must ignore
        sw, sh = rng.randint(int(w * 0.1), int(w * 0.16)), rng.randint(int(h * 0.14), int(h * 0.22))
        sx = rng.randint(2, 12) if corner == 0 else w - sw - rng.randint(2, 12)
        sy = rng.randint(2, 10)
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        draw.rectangle((sx, sy, sx + sw, sy + sh), fill=colour)
        print_text(draw, (sx + 2, sy), str(rng.randint(10, 29)), font(PLATE_FONTS[0], int(sh * 0.8)), (0, 0, 0))
    if rng.random() < 0.6:
        draw.rounded_rectangle((1, 1, w - 2, h - 2), radius=8, outline=ink, width=rng.randint(1, 4))
    for hx in (int(w * 0.25), int(w * 0.75)):
        if rng.random() < 0.5:
            draw.ellipse((hx - 4, 6, hx + 4, 12), fill=(60, 60, 60))


@dataclass(frozen=True)
class GlyphStyle:
    """Face, weight and slant varied per plate, since no free face matches the dozens of plate typefaces."""

    face: str
    stroke: int = 0
    shear: float = 0.0


@cache
def _glyph_mask(ch: str, style: GlyphStyle) -> Image.Image:
    f = font(style.face, 48)
    left, top, right, bottom = f.getbbox(ch, stroke_width=style.stroke)
    width, height = int(right - left), int(bottom - top)
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).text((-left, -top), ch, font=f, fill=255, stroke_width=style.stroke, stroke_fill=255)
    if style.shear:
        pad = int(abs(style.shear) * height)
        mask = mask.transform(
            (width + pad, height),
            Image.Transform.AFFINE,
            (1, style.shear, -pad if style.shear > 0 else 0, 0, 1, 0),
            Image.Resampling.BILINEAR,
        )
    return mask


def random_style(rng: random.Random, highway_share: float = 0.0) -> GlyphStyle:
    """A typeface, weight and slant for one plate; `highway_share` of them in a HIGHWAY_FACES face.

    The extra draw happens only when the share is above 0: at 0 the same numbers are drawn as before it existed.
    """
    if highway_share > 0 and rng.random() < highway_share:
        face = rng.choice(HIGHWAY_FACES)
    else:
        face = rng.choices(_FACES, weights=_FACE_WEIGHTS)[0]
    return GlyphStyle(face, rng.choice((0, 0, 1, 2)), rng.choice((0.0, 0.0, 0.0, -0.1, 0.1, 0.2)))


def _glyph(ch: str, style: GlyphStyle, width: int, height: int) -> Image.Image:
    """One character's coverage stretched to a cell, as plate fonts are tall and narrow; ink is pasted through it."""
    return _glyph_mask(ch, style).resize((max(1, width), max(1, height)), Image.Resampling.BILINEAR)


def render_plate(rng: random.Random, *, size: tuple[int, int] = (240, 120), highway_share: float = 0.0) -> SynthPlate:
    """Render one flat plate with its label: a state's design (75%) or the generic mix (`random_style` for
    `highway_share`)."""
    design = choose_design(rng) if rng.random() < STATE_DESIGN_SHARE else None
    plate, ink = _paper(rng, size, design)
    _decorate(rng, plate, ink, design)
    if design is not None:
        text, groups, layout = design_plate_text(rng, design, LETTER_POOL, DIGIT_POOL)
    else:
        text, groups = random_plate_text(rng)
        layout = "generic"
    w, h = size
    style = random_style(rng, highway_share)
    char_h = rng.randint(int(h * 0.42), int(h * 0.58))
    # one kind of mark between groups per plate, as on real plates; emblems and stickers need a wider gap
    mark = rng.choices(("none", "dash", "square", "emblem"), weights=(2, 3, 2, 4))[0]
    gap = rng.randint(int(w * 0.03), int(w * (0.13 if mark == "emblem" else 0.08)))
    stacked = rng.random() < 0.15
    side_emblem = rng.choice((-1, 1)) if rng.random() < 0.2 else 0  # e.g. Arizona's cactus beside the text
    side_print = rng.random() < 0.2  # small registration digits after the text (New Jersey)
    reserved = (w * 0.08 if stacked else 0) + (w * 0.12 if side_emblem else 0) + (w * 0.09 if side_print else 0)
    usable = w * rng.uniform(0.8, 0.96) - (len(groups) - 1) * gap - reserved
    pitch = max(6.0, min(usable / len(text), char_h * rng.uniform(0.5, 0.75)))
    char_w = max(4, int(pitch * rng.uniform(0.8, 0.92)))
    total = pitch * len(text) + (len(groups) - 1) * gap + reserved
    x = (w - total) / 2 + rng.uniform(-4, 4)
    y = int(h * 0.5 - char_h / 2 + rng.randint(-4, 6))
    draw = ImageDraw.Draw(plate)
    small = font(PLATE_FONTS[0], max(6, int(char_h * rng.uniform(0.25, 0.42))))
    if side_emblem == -1:
        size_k = rng.uniform(0.5, 1.0)
        emblem(draw, rng, (x, y + char_h * (1 - size_k) / 2, x + w * 0.1, y + char_h * (1 + size_k) / 2), ink, small)
        x += w * 0.12
    if stacked:  # small stacked letters beside the main text are a class code, not part of the plate
        for i, ch in enumerate(rng.sample(LETTERS, 2)):
            plate.paste(ink, (int(x), y + i * (char_h // 2)), _glyph(ch, style, int(w * 0.05), char_h // 2 - 2))
        x += w * 0.08
    for gi, group in enumerate(groups):
        for ch in group:
            plate.paste(ink, (int(x), y), _glyph(ch, style, char_w, char_h))
            x += pitch
        if gi < len(groups) - 1:
            cx, cy = int(x + gap / 2 - pitch * 0.1), y + char_h // 2
            if mark == "dash":
                draw.line((cx - gap // 4, cy, cx + gap // 4, cy), fill=ink, width=max(2, char_h // 12))
            elif mark == "square":  # Missouri-style sticker between the groups
                r = rng.randint(5, 9)
                draw.rectangle(
                    (cx - r, cy - r, cx + r, cy + r), fill=(rng.randint(150, 255), rng.randint(100, 255), 40)
                )
            elif mark == "emblem":
                half_w = max(3.0, gap * rng.uniform(0.3, 0.48))
                half_h = char_h * rng.uniform(0.2, 0.5)
                emblem(draw, rng, (cx - half_w, cy - half_h, cx + half_w, cy + half_h), ink, small)
            x += gap
    if side_print:  # registration digits or a month, small, beside the number: not part of the plate
        top = y + rng.choice((0.0, 0.3, 0.6)) * char_h
        at, printed = (x + rng.uniform(0, w * 0.02), top), small_print(rng)
        print_text(draw, at, printed, small, ink if rng.random() < 0.7 else (180, 20, 30))
        x += w * 0.09
    if side_emblem == 1:
        size_k = rng.uniform(0.5, 1.0)
        emblem(draw, rng, (x, y + char_h * (1 - size_k) / 2, x + w * 0.1, y + char_h * (1 + size_k) / 2), ink, small)
    return SynthPlate(plate, text.replace("O", "0"), design.code if design else "", layout, style.face)
