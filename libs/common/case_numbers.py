"""Case-number formats: the department's, or a partner agency's carried by its agreement.

The gateway checks our officers' case numbers and sharing checks a partner's against its agreement, so both
need the same matching. Digits are ASCII only: patterns are matched with re.ASCII (so `\\d` is [0-9]) and a
case number with any character outside ASCII is refused ("SJ-２０２６-００４２" is not a case number).
"""

from __future__ import annotations

import re

DEPARTMENT_CASE_NUMBER_PATTERN = r"^[A-Z]{2,4}-[0-9]{4}-[0-9]{4,8}$"
MAX_PATTERN_LENGTH = 200
# a quantified group that is itself quantified ("(a+)+", "(\w*)*") can take exponential time to fail
_NESTED_QUANTIFIER = re.compile(r"[+*}]\)*[+*{]|\([^()]*[+*}][^()]*\)[+*{]")


def case_number_in_format(case_number: str, pattern: str) -> bool:
    """True when the case number, trimmed, is ASCII and matches the whole pattern."""
    value = case_number.strip()
    return value.isascii() and re.fullmatch(pattern, value, flags=re.ASCII) is not None


def pattern_problem(pattern: str) -> str | None:
    """Why a case-number pattern cannot be used (None when it can): too long, not a regex, or slow to fail."""
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        return f"the pattern must be 1 to {MAX_PATTERN_LENGTH} characters"
    if not pattern.isascii():
        return "the pattern must be ASCII"
    try:
        re.compile(pattern, flags=re.ASCII)
    except re.error as err:
        return f"the pattern is not a regular expression: {err}"
    if _NESTED_QUANTIFIER.search(pattern):
        return "the pattern repeats a repeated group, which can take exponential time to fail"
    return None
