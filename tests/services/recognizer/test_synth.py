"""Synthetic plates: letter draws, marks that stay inside their place, reproducible rendering."""

from __future__ import annotations

import random
import string
from collections import Counter
from hashlib import sha256

from PIL import Image, ImageDraw

from services.recognizer.engine.distractors import emblem, print_text
from services.recognizer.engine.synth import (
    GLYPH_FACES,
    HIGHWAY_FACES,
    PLATE_FONTS,
    font,
    random_plate_text,
    random_style,
    render_plate,
)

INK = (0, 0, 0)
# what render_plate drew for seeds 0-3 before `highway_share` existed (e0da0c8): plate, face, the image's
# SHA-256 (its first 16 hex digits); fonts and Pillow are pinned, so the pixels are the same on any machine
BEFORE_THE_OPTION = [
    ("HZV692", "DejaVuSansCondensed-Bold.ttf", "62c5902b3515365d"),
    ("Z3593V", "sofia-sans-condensed-600.ttf", "fdfc9358dfdc7f9a"),
    ("ZL2861", "league-gothic-400.ttf", "6bfd01ceef0dd38c"),
    ("70R573", "fjalla-one-400.ttf", "ff375e8dfcdc62a4"),
]


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


def test_a_highway_share_of_zero_draws_the_plates_drawn_before_it_existed() -> None:
    """`train --highway-faces` is off by default: every earlier recipe's stream stays the same, pixel for pixel.
    An extra draw at share 0 would change the plates, faces and images below."""
    for seed, (plate, face, digest) in enumerate(BEFORE_THE_OPTION):
        for drawn in (
            render_plate(random.Random(seed), size=(160, 80)),
            render_plate(random.Random(seed), size=(160, 80), highway_share=0.0),
        ):
            assert (drawn.plate, drawn.face, sha256(drawn.image.tobytes()).hexdigest()[:16]) == (plate, face, digest)


def test_the_highway_share_is_the_share_of_plates_drawn_in_overpass() -> None:
    rng = random.Random(11)
    faces = Counter(random_style(rng, 0.2).face for _ in range(5000))
    highway = sum(faces[face] for face in HIGHWAY_FACES)
    assert 0.17 < highway / 5000 < 0.23
    assert {face for face in faces if face not in HIGHWAY_FACES} == {face for face, _ in GLYPH_FACES}
    assert all(random_style(rng, 1.0).face in HIGHWAY_FACES for _ in range(200))
    assert not any(random_style(rng, 0.0).face in HIGHWAY_FACES for _ in range(2000))


def test_overpass_draws_every_plate_character() -> None:
    """A face missing a glyph would draw its empty box (.notdef) under a real label."""

    def drawn(face: str, ch: str) -> bytes:
        image = Image.new("L", (60, 60), 0)
        ImageDraw.Draw(image).text((4, 0), ch, font=font(face, 48), fill=255)
        return image.tobytes()

    for face in HIGHWAY_FACES:
        missing = drawn(face, "\u0e01")  # a Thai letter no Latin build has
        for ch in string.digits + string.ascii_uppercase:
            assert any(drawn(face, ch)) and drawn(face, ch) != missing, (face, ch)
