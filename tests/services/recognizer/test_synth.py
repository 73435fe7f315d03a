"""Synthetic plates: letter draws, marks that stay inside their place, reproducible rendering."""

from __future__ import annotations

import random
import string
from collections import Counter

from PIL import Image, ImageDraw

from services.recognizer.engine.distractors import emblem, print_text
from services.recognizer.engine.synth import PLATE_FONTS, font, random_plate_text, render_plate

INK = (0, 0, 0)


def test_look_alike_letters_are_drawn_twice_as_often_and_every_letter_occurs() -> None:
    rng = random.Random(7)
    letters = Counter(ch for _ in range(20000) for ch in random_plate_text(rng)[0] if ch.isalpha())
    assert 1.6 < letters["W"] / letters["C"] < 2.4  # the reader confused W with M and V on real plates
    assert set(letters) == set(string.ascii_uppercase)  # O is folded to zero by render_plate, not here


def test_every_emblem_stays_inside_its_rectangle() -> None:
    """A mark that spilled onto a neighbouring character would teach the reader a wrong label.

    Line widths and rasterising may reach two pixels past the rectangle, no more.
    """
    small = font(PLATE_FONTS[0], 10)
    for seed in range(400):
        image = Image.new("RGB", (100, 100), (255, 255, 255))
        emblem(ImageDraw.Draw(image), random.Random(seed), (30, 30, 60, 70), INK, small)
        inked = Image.eval(image.convert("L"), lambda v: 255 - v).getbbox()
        assert inked is None or (inked[0] >= 28 and inked[1] >= 28 and inked[2] <= 63 and inked[3] <= 73), seed


def test_rendering_is_reproducible_for_a_seed_and_labels_are_readable_characters() -> None:
    a = render_plate(random.Random(3), size=(160, 80))
    b = render_plate(random.Random(3), size=(160, 80))
    assert a.plate == b.plate and a.image.tobytes() == b.image.tobytes()
    assert 4 <= len(a.plate) <= 10 and a.plate.isalnum() and "O" not in a.plate


def test_remembered_text_paints_what_pillow_paints_at_a_whole_pixel() -> None:
    """The text cache is a speed-up, not a different look: same pixels as `draw.text`, the second time too."""
    for face, text, at in (
        (font(PLATE_FONTS[0], 13), "California", (7, 4)),
        (font(PLATE_FONTS[2], 9), "Pure Michigan", (0, 20)),
    ):
        for _ in range(2):
            expected = Image.new("RGB", (120, 40), (240, 230, 200))
            painted = expected.copy()
            ImageDraw.Draw(expected).text(at, text, font=face, fill=(20, 30, 110))
            print_text(ImageDraw.Draw(painted), at, text, face, (20, 30, 110))
            assert painted.tobytes() == expected.tobytes(), text
