"""What a generic synthetic plate says: its serial layouts, the letter and digit draws, state names and slogans.

The generic plates (a quarter of the stream) mix any layout with any state name and slogan; the per-state
designs (`state_designs.py`) draw each state's own. Both draw characters from the pools here.
"""

from __future__ import annotations

import random
import string

STATES = (
    "California",
    "Texas",
    "Missouri",
    "Illinois",
    "Florida",
    "New York",
    "Arizona",
    "Washington",
    "Ohio",
    "Georgia",
    "Michigan",
    "Pennsylvania",
    "New Jersey",
    "Virginia",
    "Oregon",
    "Colorado",
    "Nevada",
    "Utah",
    "Indiana",
    "Kansas",
    "Kentucky",
    "Maryland",
    "Minnesota",
    "Oklahoma",
    "Iowa",
    "Tennessee",
    "Wisconsin",
    "Louisiana",
    "Alabama",
    "Massachusetts",
    "North Carolina",
    "Idaho",
)
SLOGANS = (
    "Show-Me State",
    "Land of Lincoln",
    "Sunshine State",
    "Grand Canyon State",
    "Empire State",
    "Evergreen State",
    "dmv.ca.gov",
    "Live Free or Die",
    "Great Lakes",
    "The Lone Star State",
    "Famous Potatoes",
    "Wild Wonderful",
    "First in Flight",
    "Keep Florida Beautiful",
    "Pure Michigan",
    "moving forward",
    "COUNTY",
    "VEHICLE MFR",
    "TRUCK",
    "APPORTIONED",
    "COLLECTOR",
    "Centennial State",
)
# L = letter, D = digit; groups split where a gap, dash, emblem or sticker goes
LAYOUTS = (
    "D LLL DDD",
    "DLLLDDD",
    "LLL DDDD",
    "LLL-DDDD",
    "LL D L D L",
    "LLD LDL",
    "LLD-LDL",
    "DDD LLL",
    "LLL DDD",
    "LLL-DDD",
    "DLL DDDD",
    "LL DDDDD",
    "DDD DDDD",
    "L DD DDDD",
    "LLL DLL",
    "DD LLL",
    "LL DDDD",
    "DDD LLD",
    "DDLL DD",
    "LLLL DD",
    "D LL DDD",
    "LLDDDD",
    "DDDDDD",
    "LLLDD",
    "DDLDLL",
)
LETTERS = string.ascii_uppercase
# look-alikes the reader confused on real plates (W/M, 7/T, I/1, V/U, 5/S, 4/A, M/H ...) are drawn twice as often
LETTER_POOL = LETTERS + "WMVTIQGBSZHUA"
DIGIT_POOL = string.digits + "7158246"


def random_plate_text(rng: random.Random) -> tuple[str, list[str]]:
    """Plate characters and their groups, from a state layout or a vanity plate."""
    if rng.random() < 0.12:
        n = rng.randint(5, 8)
        chars = "".join(rng.choice(LETTER_POOL + DIGIT_POOL) for _ in range(n))
        cut = rng.randint(0, n) if rng.random() < 0.5 else n
        groups = [g for g in (chars[:cut], chars[cut:]) if g]
        return chars, groups
    layout = rng.choice(LAYOUTS)
    groups = []
    for part in layout.replace("-", " ").split():
        groups.append("".join(rng.choice(LETTER_POOL) if c == "L" else rng.choice(DIGIT_POOL) for c in part))
    return "".join(groups), groups
