"""Whether a stated purpose is one the policy and California law forbid: allow, unclear, or prohibited.

The categories are those of POLICY.md and Civil Code 1798.90.51/.55 with Government Code 7284.6 (SB 54) and
Penal Code 13778.2 (AB 1242): immigration enforcement, enforcement against reproductive or gender-affirming
health care, monitoring of First Amendment activity, and personal or private use. A word alone decides
little: "pregnant", "protest", "church" or "ICE Cream" in a reason about a crime pass, while the same words as
the target of a search ("vehicles at the mosque", "deport the owner") are refused and flagged. A reason that
touches a category without a lawful frame, or states no law enforcement purpose at all, is refused without
a flag and sent back to be rephrased. Pure: text in, verdict out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from libs.common.text_folding import fold
from services.gateway.policy import personal_cues as personal
from services.gateway.policy import purpose_cues as cue
from services.gateway.policy import purpose_frames as frame


class Outcome(StrEnum):
    ALLOW = "allow"
    UNCLEAR = "unclear"  # refused, not flagged: rephrase, or ask a supervisor
    PROHIBITED = "prohibited"  # refused and flagged to admins and auditors (A3)


class Category(StrEnum):
    IMMIGRATION = "immigration_enforcement"
    CARE = "reproductive_or_gender_affirming_care"
    FIRST_AMENDMENT = "first_amendment_activity"
    PERSONAL = "personal_or_private_use"
    NO_PURPOSE = "no_law_enforcement_purpose"


@dataclass(frozen=True)
class Verdict:
    """The outcome, the category that decided it, and the words that showed it."""

    outcome: Outcome
    category: Category | None = None
    cue: str | None = None


# what the policy and the law forbid, as published on /public/policy
PROHIBITED_CATEGORIES = (Category.IMMIGRATION, Category.CARE, Category.FIRST_AMENDMENT, Category.PERSONAL)
ALLOW = Verdict(Outcome.ALLOW)
_SEVERITY = {Outcome.ALLOW: 0, Outcome.UNCLEAR: 1, Outcome.PROHIBITED: 2}
# "Church St", "Union Ave", "Temple Rd": a street name is a location, not the thing it is named after.
_STREET = re.compile(
    r"\b(?!(?:my|our|the|a|an|his|her|their|this|that|same|on|in|at|of)\b)\w+ "
    r"(?:st|street|ave|avenue|rd|road|blvd|boulevard|ln|lane|expressway|expy|pkwy|parkway|hwy|highway)\b"
)
_WORD_GAP = 6  # how many words may separate a private party from "asked", "wants", "on behalf of"


class _Reason:
    """One reason's folded views and the cues found in them."""

    def __init__(self, text: str) -> None:
        folded = fold(text)
        self.views = tuple(_STREET.sub("street", v) for v in folded.views())
        cased = " ".join(re.sub(r"[^\w]+", " ", folded.cased).split())
        letters = [c for c in cased if c.isalpha()]
        shouted = len(letters) > 12 and sum(c.isupper() for c in letters) > 0.6 * len(letters)
        # in a reason typed in capitals, "ICE" is no sign of the agency; its phrases still are
        self.cased = "" if shouted else _drop_icy(cased)

    def find(self, pattern: re.Pattern[str]) -> str | None:
        for view in self.views:
            found = pattern.search(view)
            if found:
                return found.group(0)
        return None

    def without(self, pattern: re.Pattern[str]) -> _Reason:
        """The same reason with every match of `pattern` taken out (a place that names a category)."""
        copy = object.__new__(_Reason)
        copy.views = tuple(pattern.sub(" ", v) for v in self.views)
        copy.cased = self.cased
        return copy

    def near(self, first: re.Pattern[str], second: re.Pattern[str], gap: int = _WORD_GAP) -> str | None:
        """A match of `first` within `gap` words of a match of `second`, either side."""
        for view in self.views:
            a_spans = [(_word_index(view, m.start()), m.group(0)) for m in first.finditer(view)]
            b_spans = [_word_index(view, m.start()) for m in second.finditer(view)]
            for index, text in a_spans:
                if any(abs(index - other) <= gap for other in b_spans):
                    return text
        return None


def _word_index(view: str, offset: int) -> int:
    return view.count(" ", 0, offset)


def _drop_icy(cased: str) -> str:
    """Case kept, with ice that is a shop, a rink or the weather, or the agency's building as a place, taken out."""
    cased = cue.ICE_LOCATION.sub(" ", cased)
    spans = [m.span() for m in cue.ICE_NOT_AGENCY.finditer(cased.lower())]
    for start, end in reversed(spans):
        cased = cased[:start] + " " + cased[end:]
    return cased


def classify(*texts: str) -> Verdict:
    """The verdict on a request's free text (reason, case number, justification...), most severe first."""
    reason = _Reason(" ; ".join(t for t in texts if t))
    verdicts = [
        _immigration(reason),
        _care(reason),
        _first_amendment(reason),
        _personal(reason),
    ]
    worst = max(verdicts, key=lambda v: _SEVERITY[v.outcome])
    if worst.outcome is Outcome.ALLOW and not _lawful_frame(reason):
        return Verdict(Outcome.UNCLEAR, Category.NO_PURPOSE)
    return worst


def _crime(reason: _Reason) -> str | None:
    return reason.find(frame.CRIME)


def _lawful_frame(reason: _Reason) -> bool:
    """A crime, a victim, a person at risk, a protective detail, or at least an incident told as one."""
    lawful = (frame.CRIME, frame.LEGAL_PROCESS, frame.VICTIM, frame.PROTECTION, frame.LAWFUL_CONTEXT)
    return any(reason.find(p) for p in lawful) or _incident(reason)


def _incident(reason: _Reason) -> bool:
    """Something done (a verb in the past) to or by a person or a vehicle."""
    return bool(reason.find(frame.EVENT_VERB) and reason.find(frame.EVENT_SUBJECT))


def _immigration(reason: _Reason) -> Verdict:
    """Enforcement or status is prohibited; status of a crime victim, or a place by name, is not."""
    ice = cue.ICE_UPPER.search(cue.AGENCY_AS_VICTIM.sub(" ", reason.cased))
    icy = reason.without(cue.AGENCY_AS_VICTIM).without(cue.ICE_LOCATION).without(cue.ICE_NOT_AGENCY)
    enforcement = (ice and ice.group(0)) or icy.find(cue.ICE_AGENCY)
    enforcement = enforcement or reason.without(cue.AGENCY_AS_VICTIM).find(cue.IMMIGRATION_ENFORCEMENT)
    if enforcement:
        return Verdict(Outcome.PROHIBITED, Category.IMMIGRATION, enforcement)
    plain = reason.without(cue.IMMIGRATION_PLACE).without(cue.IMMIGRATION_DISCLAIMED)
    status = plain.find(cue.IMMIGRATION_STATUS)
    if status and not (reason.find(frame.VICTIM) and _crime(reason)):
        return Verdict(Outcome.PROHIBITED, Category.IMMIGRATION, status)
    people = plain.find(cue.IMMIGRATION_PEOPLE)
    if people and not _crime(reason):
        # the people as the search's target; beside an incident we cannot read as a crime, rephrase
        aimed = reason.find(frame.SURVEILLANCE) or not _incident(reason)
        return Verdict(Outcome.PROHIBITED if aimed else Outcome.UNCLEAR, Category.IMMIGRATION, people)
    place = reason.find(cue.IMMIGRATION_PLACE)
    if place:
        return _sensitive_place(reason, Category.IMMIGRATION, place)
    return ALLOW


def _care(reason: _Reason) -> Verdict:
    """Care named with a crime against a patient or a clinic passes; care as the target never does."""
    care = reason.find(cue.CARE)
    if not care:
        return ALLOW
    if reason.find(cue.CARE_AS_OFFENCE) and not reason.find(frame.VICTIM):
        return Verdict(Outcome.PROHIBITED, Category.CARE, care)
    if _crime(reason) or reason.find(frame.PROTECTION):
        return ALLOW
    if reason.find(frame.SURVEILLANCE) or not _incident(reason):
        return Verdict(Outcome.PROHIBITED, Category.CARE, reason.find(cue.CARE_PEOPLE) or care)
    # an incident at a place of care, told in words we do not know as a crime: rephrase, no flag
    return Verdict(Outcome.UNCLEAR, Category.CARE, care)


def _first_amendment(reason: _Reason) -> Verdict:
    """Worship, protest, press, politics and labour: a crime or a protective detail, never the people."""
    found = reason.find(cue.FIRST_AMENDMENT)
    if not found:
        return ALLOW
    if _crime(reason.without(frame.PROTEST_TOPIC)) or reason.find(frame.WARRANT):
        return ALLOW
    if reason.find(frame.PROTECTION) and not reason.find(frame.SURVEILLANCE):
        return ALLOW
    # the people or the place as what the search is for; named without a frame, rephrase
    if reason.find(frame.SURVEILLANCE):
        return Verdict(Outcome.PROHIBITED, Category.FIRST_AMENDMENT, reason.find(cue.FIRST_AMENDMENT_PEOPLE) or found)
    return Verdict(Outcome.UNCLEAR, Category.FIRST_AMENDMENT, found)


def _sensitive_place(reason: _Reason, category: Category, place: str) -> Verdict:
    if _crime(reason) or reason.find(frame.PROTECTION):
        return ALLOW
    if reason.find(frame.SURVEILLANCE):
        return Verdict(Outcome.PROHIBITED, category, place)
    return Verdict(Outcome.UNCLEAR, category, place)


def _personal(reason: _Reason) -> Verdict:
    """Curiosity, one's own people or quarrels, and private parties' errands are not law enforcement."""
    own = reason.find(personal.OWN_INTEREST) or reason.find(personal.SELF_RELATION) or reason.find(personal.DISPUTE)
    if own:
        return Verdict(Outcome.PROHIBITED, Category.PERSONAL, own)
    crime = _crime(reason)
    lawful = crime or reason.find(frame.LEGAL_PROCESS)
    curiosity = reason.find(personal.CURIOSITY)
    if curiosity and not lawful:
        return Verdict(Outcome.PROHIBITED, Category.PERSONAL, curiosity)
    # a private party's errand or civil matter; a business reporting a crime against it is a victim
    civil = reason.find(personal.CIVIL_MATTER)
    party = reason.near(personal.PRIVATE_PARTY, personal.ON_BEHALF) if civil or not crime else None
    party = party or (None if crime else reason.near(personal.PRIVATE_PARTY, personal.CIVIL_MATTER))
    if party:
        return Verdict(Outcome.PROHIBITED, Category.PERSONAL, party)
    if civil and not lawful:
        return Verdict(Outcome.PROHIBITED, Category.PERSONAL, civil)
    relation = reason.find(personal.EX_PARTNER) or reason.find(personal.NEIGHBOUR) or reason.find(personal.FAVOUR)
    if relation and not lawful:
        outcome = Outcome.PROHIBITED if reason.find(frame.SURVEILLANCE) else Outcome.UNCLEAR
        return Verdict(outcome, Category.PERSONAL, relation)
    private = reason.find(personal.PRIVATE_PARTY)
    if private and not lawful:
        return Verdict(Outcome.UNCLEAR, Category.PERSONAL, private)
    return ALLOW
