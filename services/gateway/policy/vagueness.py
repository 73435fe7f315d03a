"""Whether a reason says anything: keyboard runs, lorem ipsum, one word over and over, dots. No I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from itertools import pairwise

from libs.common.text_folding import fold

# words that say nothing about why: "just checking for the investigation" is still vague
FILLER_WORDS = frozenset(
    "a an and are as at be by for from in is it just my of on or our some the this that to was with".split()
)
_LOREM = frozenset(
    "lorem ipsum dolor sit amet consectetur consectetuer adipiscing adipisicing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris "
    "nisi aliquip ex ea commodo consequat duis aute irure reprehenderit voluptate velit esse cillum fugiat nulla "
    "pariatur excepteur sint occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est "
    "laborum".split()
)
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz", "1234567890")
_VOWELS = frozenset("aeiouy")
MIN_DISTINCT_WORDS = 3


def _run_along(token: str, row: str) -> bool:
    """Keys or letters in order along one row, either way: "asdf", "poiu", "abc"."""
    steps = {row.find(b) - row.find(a) for a, b in pairwise(token)}
    return all(c in row for c in token) and (steps == {1} or steps == {-1})


def _repeats(token: str, size: int) -> bool:
    """The token is one short unit over and over (a trailing part of it allowed)."""
    unit = token[:size]
    return (unit * (len(token) // size + 1)).startswith(token)


def _junk(token: str) -> bool:
    """A token that is not a word: a keyboard or alphabet run, a letter or short unit repeated, no vowel."""
    if len(token) >= 3 and any(_run_along(token, row) for row in _ROWS):
        return True
    if len(token) >= 3 and len(set(token)) == 1:
        return True
    if len(token) >= 6 and any(_repeats(token, size) for size in (2, 3)):  # "adfadfadf", "rgrgrg"
        return True
    return len(token) >= 4 and token.isalpha() and not (set(token) & _VOWELS)


def is_empty_talk(text: str, vague_words: Collection[str] = ()) -> bool:
    """True when a reason has no content: nothing but filler, junk tokens, lorem ipsum or repetition."""
    words = fold(text).words.split()
    if " ".join(words) in vague_words:
        return True
    lettered = [w for w in words if any(c.isalpha() for c in w)]
    if not lettered:
        return True
    junk = sum(1 for w in lettered if _junk(w) or w in _LOREM)
    if junk * 2 >= len(lettered):
        return True
    if len(words) >= 4 and Counter(words).most_common(1)[0][1] * 2 >= len(words):
        return True
    substance = {w for w in lettered if not _junk(w)} - FILLER_WORDS - set(vague_words)
    return len(substance) < MIN_DISTINCT_WORDS
