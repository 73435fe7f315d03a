"""Standard serial formats of US states' passenger plates, and the state prior that re-ranks candidates with them.

A pure table and pure functions. `L` is a letter, `D` a digit, spaces and dashes mark where a plate splits
its groups (the reader returns the characters without them). The table lists the common issued serials
(current and recent series) of each of the 50 states and DC, the same layouts the synthetic stream draws for
the state (`state_designs`), not every specialty or vanity plate: a plate that fits none of its
state's formats is still read, only ranked a little lower than a candidate that fits (`STATE_PRIOR_MISS`).

The prior never invents a plate: it re-orders the reader's own candidates, and each keeps its own
confidence, so a promoted candidate is reported as sure or unsure as the network found it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from libs.common.errors import InvalidInput

STATE_FORMATS: dict[str, tuple[str, ...]] = {
    "AK": ("LLL DDD",),
    "AL": ("DD LLL DD", "D LL DDDD"),
    "AR": ("DDD LLL", "LLL DDL"),
    "AZ": ("LLL DDDD", "DLL DDD"),
    "CA": ("D LLL DDD", "D L DDDDD", "DDDDD D", "LLL DDD", "DDD LLL"),
    "CO": ("LLL DDD", "DDD LLL", "LLL-LDD", "LLL-DDDD"),
    "CT": ("LL DDDDD", "D LLL D"),
    "DC": ("LL DDDD",),
    "DE": ("DDDDDD", "DDDDD"),
    "FL": ("LLL DDD", "DDD LLL", "LLL LDD", "LDD DLL", "LLL DL", "DDD DLL"),
    "GA": ("LLL DDDD", "LLL DDD", "DDD DDDD"),
    "HI": ("LLL DDD",),
    "IA": ("LLL DDD",),
    "ID": ("D L DDDDD", "DL DDDDD", "LL DDDDD"),
    "IL": ("LL DDDDD", "L DD DDDD", "DDDDDDD", "LLL DDD"),
    "IN": ("DDD L", "DDD LL", "DDD LLL", "DDDDLL"),
    "KS": ("DDD LLL",),
    "KY": ("DDD LLL",),
    "LA": ("DDD LLL", "LLL DDD"),
    "MA": ("D LLL DD", "DDD LL D", "DLL DDD", "DDD DLL"),
    "MD": ("D LL DDDD", "DLL DDDD", "LLL DDD"),
    "ME": ("DDDD LL", "DDD LLL"),
    "MI": ("LLL DDDD", "D LLL DD", "LLL DDD", "DLL LDD"),
    "MN": ("DDD LLL", "LLL DDD"),
    "MO": ("LLD LDL", "LLL DDD", "DDD LLL", "LLD DLL"),
    "MS": ("LLL DDDD", "LL DDDDD"),
    "MT": ("D DDDD L", "DD DDDD L"),
    "NC": ("LLL DDDD", "LLL DDD"),
    "ND": ("LLL DDD", "DDD LLL"),
    "NE": ("LLL DDD", "DD L DDD"),
    "NH": ("DDD DDDD", "DDDDDDD"),
    "NJ": ("L DD LLL", "LLL DDL", "LLL LDD", "DDD LLL"),
    "NM": ("LLL DDD", "DDD LLL"),
    "NV": ("DDD LDD", "DDL DDD", "DLL DDD", "LLL DDD"),
    "NY": ("LLL DDDD", "LLL DDD", "DDD LLL"),
    "OH": ("LLL DDDD", "LL DD LL"),
    "OK": ("LLL DDD", "LLL DDDD"),
    "OR": ("DDD LLL", "LLL DDD"),
    "PA": ("LLL DDDD", "LLL DDD"),
    "RI": ("LL DDD", "DDDDDD", "DDD DDD"),
    "SC": ("LLL DDD",),
    "SD": ("D LL DDD", "DD LDDD"),
    "TN": ("LLL DDD", "LDD DDL", "DLD DDD"),
    "TX": ("LLL DDDD", "LL L DDDD", "DDD LLL", "LLL DDD"),
    "UT": ("LDD DLL", "DDD LLL"),
    "VA": ("LLL DDDD", "LLL DDD", "DDD LLL"),
    "VT": ("LLL DDD",),
    "WA": ("LLL DDDD", "DDD LLL", "LLL DDD"),
    "WI": ("LLL DDDD", "DDD LLL", "LLL DDD"),
    "WV": ("DLL DDD", "LLL DDD"),
    "WY": ("DD DDDD", "D DDDDD"),
}
# a candidate that fits none of the state's formats counts this share of its probability when ranking:
# enough for a format-fitting runner-up to pass an unsure misread, never enough to pass a confident read
# (a vanity plate read at 0.9 still beats a fitting alternative under 0.18)
STATE_PRIOR_MISS = 0.2
_STATE = re.compile(r"[A-Z]{2}")


def format_pattern(layout: str) -> str:
    """The regex of one layout; a letter may read as 0, since the reader writes O as 0."""
    parts = {"L": "[A-Z0]", "D": "[0-9]"}
    return "".join(parts[c] for c in layout if c not in " -")


@cache
def _state_regex(state: str) -> re.Pattern[str] | None:
    layouts = STATE_FORMATS.get(state)
    if not layouts:
        return None
    return re.compile("|".join(f"(?:{format_pattern(layout)})" for layout in layouts))


def fits_state(plate: str, state: str) -> bool:
    """Whether a plate (as the reader writes it) fits one of the state's serial formats."""
    regex = _state_regex(state)
    return bool(regex and regex.fullmatch(plate))


def normalise_state(state: str | None) -> str | None:
    """The vendor's state as a two-letter code; None when not sent; refused when not two letters."""
    if state is None or not state.strip():
        return None
    code = state.strip().upper()
    if not _STATE.fullmatch(code):
        raise InvalidInput("state must be a two-letter code", code="state_invalid", state=state)
    return code


@dataclass(frozen=True)
class Ranked:
    """A reading's plate, confidence, characters' confidences and candidates, in the prior's order."""

    plate: str
    confidence: float
    char_confidences: list[float]
    candidates: list[tuple[str, float]]


def rerank_for_state(
    candidates: list[tuple[str, float]],
    char_scores: dict[str, tuple[float, ...]],
    state: str | None,
) -> Ranked | None:
    """Re-order candidates by probability × (1 if it fits the state's formats, else STATE_PRIOR_MISS).

    None when there is nothing to re-rank: no state, a state without formats here, or no candidates. Ties
    keep the reader's order (a stable sort), so the prior changes nothing where no candidate fits.
    """
    if state is None or not candidates or _state_regex(state) is None:
        return None
    order = sorted(
        candidates,
        key=lambda item: item[1] * (1.0 if fits_state(item[0], state) else STATE_PRIOR_MISS),
        reverse=True,
    )
    plate, confidence = order[0]
    chars = [round(p, 4) for p in char_scores.get(plate, ())]
    return Ranked(plate, confidence, chars, order)
