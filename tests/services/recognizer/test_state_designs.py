"""Per-state synthetic plates: every jurisdiction designed, serials the state prior accepts, tight boxes, census."""

from __future__ import annotations

import random
from collections import Counter

from bench.synth_mix import census
from services.recognizer.engine.augment import TIGHT, jitter_box
from services.recognizer.engine.plate_formats import STATE_FORMATS, fits_state
from services.recognizer.engine.plate_text import DIGIT_POOL, LETTER_POOL
from services.recognizer.engine.state_designs import BY_CODE, DESIGNS, FREQUENT, choose_design, design_plate_text
from services.recognizer.engine.synth import render_plate


def test_the_50_states_and_dc_each_have_one_design_with_serials() -> None:
    assert len(DESIGNS) == len(BY_CODE) == 51 and "DC" in BY_CODE
    assert all(design.layouts and design.name_at in ("top", "bottom") for design in DESIGNS)


def test_a_state_design_draws_serials_its_state_prior_accepts() -> None:
    rng = random.Random(4)
    for code in STATE_FORMATS:
        for _ in range(40):
            text, groups, layout = design_plate_text(rng, BY_CODE[code], LETTER_POOL, DIGIT_POOL)
            assert "".join(groups) == text
            if not layout.startswith("vanity"):
                assert fits_state(text.replace("O", "0"), code), (code, layout, text)


def test_vanity_plates_run_from_one_to_ten_characters_mostly_letters_only() -> None:
    rng = random.Random(5)
    vanity = [
        t
        for t, _, layout in (design_plate_text(rng, BY_CODE["VA"], LETTER_POOL, DIGIT_POOL) for _ in range(6000))
        if layout.startswith("vanity")
    ]
    assert 0.07 < len(vanity) / 6000 < 0.13
    assert {len(t) for t in vanity} <= set(range(1, 11)) and max(len(t) for t in vanity) >= 9
    assert 0.55 < sum(t.isalpha() for t in vanity) / len(vanity) < 0.8


def test_the_states_the_held_back_set_holds_most_of_are_drawn_more_often() -> None:
    rng = random.Random(6)
    drawn = Counter(choose_design(rng).code for _ in range(20000))
    assert set(drawn) == set(BY_CODE)
    frequent = sum(drawn[c] for c in FREQUENT) / len(FREQUENT)
    rest = sum(n for c, n in drawn.items() if c not in FREQUENT) / (len(BY_CODE) - len(FREQUENT))
    assert 2.5 < frequent / rest < 3.5


def test_rendered_state_plates_say_their_state_and_layout() -> None:
    rng = random.Random(8)
    plates = [render_plate(rng, size=(160, 80)) for _ in range(200)]
    states = [p for p in plates if p.state]
    assert 0.65 < len(states) / len(plates) < 0.85
    for plate in plates:
        assert plate.plate.isalnum() and "O" not in plate.plate and 1 <= len(plate.plate) <= 10
        assert plate.layout == "generic" if not plate.state else plate.layout


def test_a_tight_box_keeps_each_edge_within_a_few_percent_of_the_plate() -> None:
    rng = random.Random(9)
    (x_low, x_high), (y_low, y_high) = TIGHT
    for _ in range(500):
        x, y, w, h = jitter_box(rng, (100.0, 50.0, 200.0, 100.0), tight=True)
        assert -x_high * 200 <= x - 100 <= -x_low * 200 + 1e-9
        assert -y_high * 100 <= y - 50 <= -y_low * 100 + 1e-9
        assert (1 + 2 * x_low) * 200 - 1e-9 <= w <= (1 + 2 * x_high) * 200 + 1e-9
        assert (1 + 2 * y_low) * 100 - 1e-9 <= h <= (1 + 2 * y_high) * 100 + 1e-9


def test_the_census_counts_every_draw_once() -> None:
    counts = census(1500, seed=3, real_share=0.25)
    assert sum(counts["kind"].values()) == 1500
    rendered = sum(counts["state"].values())
    assert rendered == sum(counts["layout"].values()) == sum(counts["length"].values()) == sum(counts["face"].values())
    assert 0.2 < (1500 - rendered) / 1500 < 0.3
    assert not any(face.startswith("overpass") for face in counts["face"])  # off unless asked for
    highway = census(1500, seed=3, real_share=0.25, highway_faces=0.5)["face"]
    assert 0.4 < sum(n for face, n in highway.items() if face.startswith("overpass")) / sum(highway.values()) < 0.6
