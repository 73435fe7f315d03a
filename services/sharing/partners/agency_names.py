"""What an agency's name betrays: a federal agency or a business, whatever the kind an admin picked (C1, C7).

Names are read as the purpose rules read reasons (libs.common.text_folding): NFKC, Cyrillic and Greek
look-alikes folded to Latin, digits for letters, dotted or spaced letters closed up ("F.B.I.", "L L C"),
case and spacing. A kind is typed by a person and can be wrong, so the name is a second witness; a false
refusal costs an admin a retyped name, a federal or commercial partner costs the department the law.
"""

from __future__ import annotations

import re

from libs.common.text_folding import fold

# Over folded words (lower case, one space between words, punctuation gone: "U.S." reads "u s").
FEDERAL_WORDS = re.compile(
    r"\b(?:fbi|dea|atf|ice|cbp|hsi|dhs|ero|usms|usa|usdoj|doj oig|irs ci)\b"
    r"|\bu ?s\b|\bunited states\b|\bfederal\b|\bhomeland security\b|\bmarshals? service\b"
    r"|\bimmigration\b|\bcustoms\b|\bborder patrol\b|\bborder protection\b|\bdrug enforcement\b"
    r"|\balcohol tobacco\b|\bsecret service\b|\bnaturalization\b|\bdepartment of defense\b"
)
# Words a company puts in its name. Left out, as they name public bodies too: "co." (County), "lab" (the
# crime lab), "national" (National City), "marshal" (the State Fire Marshal), "recovery" (auto theft units).
COMMERCIAL_WORDS = re.compile(
    r"\b(?:inc|incorporated|llc|llp|lp|ltd|limited|corp|corporation|company|plc|gmbh|pllc"
    r"|solutions?|technolog(?:y|ies)|tech|systems?|holdings?|enterprises?|group|software|analytics"
    r"|consulting|consultants|associates|ventures|partners|industries|international|global"
    r"|private|towing|repossessions?|bail|bonds|insurance|investigators|security services)\b"
)
# ALPR vendors and data brokers by name: they sell to the department and must never be shared with.
VENDORS = re.compile(
    r"\b(?:vigilant|flock|motorola|rekor|genetec|palantir|axon|lexisnexis|thomson reuters|elsag|leonardo"
    r"|digital recognition|drn|perceptics|neology|insight lpr|openalpr)\b"
)


def _reads_as(pattern: re.Pattern[str], name: str) -> bool:
    return any(pattern.search(view) for view in fold(name).views())


def names_federal_agency(name: str) -> bool:
    """Whether an agency name reads as a federal agency (look-alike letters and spacing folded)."""
    return _reads_as(FEDERAL_WORDS, name)


def names_business(name: str) -> bool:
    """Whether an agency name reads as a company, a private service or an ALPR vendor."""
    return _reads_as(COMMERCIAL_WORDS, name) or _reads_as(VENDORS, name)
