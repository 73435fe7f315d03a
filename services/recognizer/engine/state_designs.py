"""Per-state plate designs for the synthetic stream: colours, state name and where it sits, slogans, serials.

A pure table, drawn from the public look of each jurisdiction's standard passenger plate (approximate:
colours as a flat tint or a top-to-bottom gradient, no artwork). The serial layouts are those of
`plate_formats.STATE_FORMATS`, one table for every state, so the reader learns the serials the state prior
expects. `L` is a letter, `D` a digit; a space or dash is
where the plate splits its groups.

`STATE_WEIGHTS` draws states in proportion to how often the product sees them: the held-back set the issue
describes has the most plates from VA, NC, CA, ID, NJ, IL, LA and NV, so those are drawn three times as
often as the rest; every one of the 50 states and DC is drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.recognizer.engine.plate_formats import STATE_FORMATS

Colour = tuple[int, int, int]

WHITE: Colour = (245, 245, 242)
NAVY: Colour = (25, 35, 105)
BLACK: Colour = (20, 20, 22)
RED: Colour = (160, 25, 30)
GREEN: Colour = (25, 90, 50)
MAROON: Colour = (110, 25, 35)


@dataclass(frozen=True)
class StateDesign:
    code: str
    name: str
    paper: tuple[Colour, Colour]  # top and bottom of the background (equal: a flat plate)
    ink: Colour  # the serial's colour
    accent: Colour  # the state name's colour
    name_at: str  # "top" or "bottom"
    slogans: tuple[str, ...]
    layouts: tuple[str, ...]


def _d(
    code: str,
    name: str,
    paper: tuple[Colour, Colour],
    ink: Colour,
    accent: Colour,
    name_at: str,
    slogans: tuple[str, ...],
) -> StateDesign:
    return StateDesign(code, name, paper, ink, accent, name_at, slogans, STATE_FORMATS[code])


_FLAT = (WHITE, WHITE)
DESIGNS: tuple[StateDesign, ...] = (
    _d("AL", "Alabama", (WHITE, (215, 230, 245)), NAVY, RED, "top", ("Sweet Home Alabama",)),
    _d("AK", "Alaska", ((240, 200, 60), (240, 200, 60)), NAVY, NAVY, "top", ("The Last Frontier",)),
    _d("AZ", "Arizona", ((250, 235, 200), (215, 150, 90)), MAROON, MAROON, "top", ("Grand Canyon State",)),
    _d("AR", "Arkansas", (WHITE, (235, 225, 200)), NAVY, RED, "top", ("The Natural State",)),
    _d("CA", "California", _FLAT, NAVY, RED, "top", ("dmv.ca.gov", "")),
    _d("CO", "Colorado", (WHITE, (40, 110, 60)), GREEN, GREEN, "top", ("",)),
    _d(
        "CT",
        "Connecticut",
        ((225, 235, 250), (150, 180, 220)),
        NAVY,
        NAVY,
        "top",
        ("Constitution State",),
    ),
    _d("DE", "Delaware", ((200, 170, 90), (200, 170, 90)), NAVY, NAVY, "top", ("The First State",)),
    _d("DC", "Washington DC", _FLAT, RED, NAVY, "bottom", ("End Taxation Without Representation",)),
    _d("FL", "Florida", (WHITE, (225, 240, 225)), GREEN, GREEN, "bottom", ("Sunshine State", "Myflorida.com")),
    _d("GA", "Georgia", (WHITE, (250, 225, 200)), BLACK, BLACK, "top", ("In God We Trust", "FULTON", "COBB")),
    _d("HI", "Hawaii", _FLAT, BLACK, BLACK, "bottom", ("Aloha State",)),
    _d(
        "ID",
        "Idaho",
        ((220, 230, 245), WHITE),
        NAVY,
        RED,
        "bottom",
        ("Famous Potatoes", "Scenic Idaho"),
    ),
    _d("IL", "Illinois", _FLAT, NAVY, RED, "top", ("Land of Lincoln",)),
    _d("IN", "Indiana", _FLAT, BLACK, NAVY, "bottom", ("In God We Trust",)),
    _d("IA", "Iowa", (WHITE, (225, 235, 250)), NAVY, NAVY, "top", ("POLK", "LINN", "JOHNSON")),
    _d("KS", "Kansas", (WHITE, (200, 215, 240)), NAVY, NAVY, "top", ("",)),
    _d("KY", "Kentucky", (WHITE, (205, 220, 240)), NAVY, NAVY, "top", ("Unbridled Spirit",)),
    _d("LA", "Louisiana", _FLAT, NAVY, RED, "top", ("Sportsman's Paradise",)),
    _d("ME", "Maine", _FLAT, NAVY, NAVY, "top", ("Vacationland",)),
    _d("MD", "Maryland", _FLAT, BLACK, RED, "top", ("",)),
    _d("MA", "Massachusetts", _FLAT, RED, NAVY, "top", ("The Spirit of America",)),
    _d("MI", "Michigan", _FLAT, NAVY, NAVY, "bottom", ("Pure Michigan", "Great Lakes")),
    _d("MN", "Minnesota", ((215, 230, 245), WHITE), NAVY, NAVY, "top", ("10,000 Lakes", "Explore Minnesota")),
    _d("MS", "Mississippi", _FLAT, NAVY, NAVY, "top", ("In God We Trust",)),
    _d("MO", "Missouri", (WHITE, (200, 215, 240)), NAVY, NAVY, "top", ("Show-Me State",)),
    _d("MT", "Montana", ((215, 230, 245), WHITE), NAVY, NAVY, "top", ("Treasure State",)),
    _d("NE", "Nebraska", _FLAT, NAVY, NAVY, "top", ("The Good Life",)),
    _d("NV", "Nevada", ((200, 220, 245), WHITE), NAVY, NAVY, "top", ("Home Means Nevada", "The Silver State")),
    _d("NH", "New Hampshire", _FLAT, GREEN, GREEN, "top", ("Live Free or Die",)),
    _d("NJ", "New Jersey", ((245, 235, 190), (230, 215, 150)), BLACK, BLACK, "top", ("Garden State",)),
    _d(
        "NM",
        "New Mexico",
        ((250, 220, 60), (250, 220, 60)),
        RED,
        RED,
        "top",
        ("Land of Enchantment",),
    ),
    _d("NY", "New York", ((245, 245, 245), (250, 200, 80)), NAVY, NAVY, "top", ("Excelsior", "Empire State")),
    _d("NC", "North Carolina", _FLAT, NAVY, RED, "top", ("First in Flight", "First in Freedom")),
    _d("ND", "North Dakota", _FLAT, NAVY, NAVY, "top", ("Legendary",)),
    _d("OH", "Ohio", (WHITE, (235, 220, 220)), NAVY, RED, "top", ("Birthplace of Aviation",)),
    _d(
        "OK",
        "Oklahoma",
        ((225, 240, 240), WHITE),
        NAVY,
        NAVY,
        "top",
        ("Native America", "OK!"),
    ),
    _d("OR", "Oregon", (WHITE, (215, 235, 215)), NAVY, NAVY, "top", ("",)),
    _d("PA", "Pennsylvania", ((215, 225, 245), (250, 225, 130)), NAVY, NAVY, "top", ("visitPA.com",)),
    _d("RI", "Rhode Island", _FLAT, NAVY, NAVY, "top", ("Ocean State",)),
    _d("SC", "South Carolina", (WHITE, (240, 225, 200)), NAVY, NAVY, "top", ("While I Breathe I Hope",)),
    _d(
        "SD",
        "South Dakota",
        ((230, 235, 245), WHITE),
        NAVY,
        NAVY,
        "top",
        ("Great Faces Great Places",),
    ),
    _d("TN", "Tennessee", _FLAT, NAVY, NAVY, "top", ("",)),
    _d("TX", "Texas", _FLAT, BLACK, BLACK, "top", ("The Lone Star State",)),
    _d(
        "UT",
        "Utah",
        (WHITE, (225, 225, 225)),
        NAVY,
        NAVY,
        "bottom",
        ("Life Elevated", "Greatest Snow on Earth"),
    ),
    _d("VT", "Vermont", ((30, 90, 55), (30, 90, 55)), WHITE, WHITE, "top", ("Green Mountain State",)),
    _d("VA", "Virginia", _FLAT, NAVY, NAVY, "top", ("Virginia is for Lovers", "")),
    _d("WA", "Washington", (WHITE, (230, 235, 240)), MAROON, NAVY, "top", ("Evergreen State",)),
    _d("WV", "West Virginia", _FLAT, NAVY, NAVY, "top", ("Wild Wonderful", "Almost Heaven")),
    _d("WI", "Wisconsin", _FLAT, BLACK, NAVY, "top", ("America's Dairyland",)),
    _d("WY", "Wyoming", ((230, 240, 245), (245, 235, 205)), NAVY, MAROON, "top", ("",)),
)
BY_CODE = {design.code: design for design in DESIGNS}
FREQUENT = frozenset({"VA", "NC", "CA", "ID", "NJ", "IL", "LA", "NV"})
STATE_WEIGHTS = tuple(3.0 if design.code in FREQUENT else 1.0 for design in DESIGNS)


def choose_design(rng: random.Random) -> StateDesign:
    """A state, drawn by STATE_WEIGHTS."""
    return rng.choices(DESIGNS, weights=STATE_WEIGHTS)[0]


# lengths of vanity plates in the held-back set's spread: 1–10, mostly 5–7
VANITY_LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
VANITY_WEIGHTS = (0.2, 0.5, 1.0, 2.0, 3.0, 3.0, 3.0, 1.5, 0.2, 0.1)
VANITY_SHARE = 0.1  # about 8% of the held-back plates are vanity plates of letters only


def design_plate_text(rng: random.Random, design: StateDesign, letters: str, digits: str) -> tuple[str, list[str], str]:
    """Characters, their groups and the layout drawn: one of the state's serials, or a vanity plate.

    Vanity plates are letters only two times in three (as on the held-back set), else letters and digits;
    their layout is named `vanity-N` for the stream's census.
    """
    if rng.random() < VANITY_SHARE:
        n = rng.choices(VANITY_LENGTHS, weights=VANITY_WEIGHTS)[0]
        pool = letters if rng.random() < 2 / 3 else letters + digits
        chars = "".join(rng.choice(pool) for _ in range(n))
        cut = rng.randint(1, n - 1) if n > 3 and rng.random() < 0.3 else n
        return chars, [g for g in (chars[:cut], chars[cut:]) if g], f"vanity-{n}"
    layout = rng.choice(design.layouts)
    groups = [
        "".join(rng.choice(letters) if c == "L" else rng.choice(digits) for c in part)
        for part in layout.replace("-", " ").split()
    ]
    return "".join(groups), groups, layout
