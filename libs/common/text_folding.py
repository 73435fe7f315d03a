"""Text as the purpose and partner-name rules read it: NFKC, look-alike letters folded to Latin, case, spacing.

A reason typed with a Cyrillic "І" or Greek "ο", with zero-width joiners, full-width letters, accents or
letters spaced out ("d e p o r t") reads the same as the plain one. No I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Cyrillic and Greek letters drawn like Latin ones (Unicode confusables, the subset that matters for words).
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic, lower case
        "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
        "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y",
        "ү": "y", "ԝ": "w", "х": "x", "ь": "b", "ɡ": "g", "п": "n",
        # Cyrillic, upper case
        "А": "A", "В": "B", "С": "C", "Е": "E", "Ё": "E", "Н": "H", "І": "I", "Ї": "I", "Ӏ": "I", "Ј": "J",
        "К": "K", "М": "M", "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԛ": "Q",
        "Ԝ": "W", "Ь": "b",
        # Greek, lower case
        "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "σ": "o", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
        # Greek, upper case
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
        "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
        # Latin letters that NFKC keeps apart from their plain look-alikes
        "ı": "i", "ȷ": "j", "ł": "l", "ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "œ": "oe", "ſ": "s",
        "‘": "'", "’": "'", "ʼ": "'", "`": "'", "´": "'",
    }
)  # fmt: skip
# Three or more single letters in a row, spaced or dotted ("d e p o r t", "I.C.E."), are one word.
_SPACED_LETTERS = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .·*_-]){2,}[^\W\d_](?![^\W_])")
_SEPARATORS = re.compile(r"[ .·*_-]")
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)|'")
_NON_WORD = re.compile(r"[^\w]+|_+")
_HYPHEN_IN_WORD = re.compile(r"(?<=[^\W\d_])[-‐‑–](?=[^\W\d_])")
# Digits standing for letters inside a word ("dep0rt", "1mmigration"); plates and case numbers have more digits.
_LEET = str.maketrans("013457", "oieast")
_MIXED_WORD = re.compile(r"\b(?=\w*[^\W\d_])(?=\w*\d)\w{4,}\b")


@dataclass(frozen=True)
class Folded:
    """One text in the forms the rules match: cased (for acronyms), plain words, and hyphens closed up."""

    cased: str
    words: str
    joined: str
    unleet: str

    def views(self) -> tuple[str, ...]:
        """The distinct word forms patterns are matched against (usually one)."""
        return tuple(dict.fromkeys((self.words, self.joined, self.unleet)))


def skeleton(text: str) -> str:
    """NFKC, look-alikes folded to Latin, accents and invisible characters dropped; case kept."""
    text = unicodedata.normalize("NFKC", text).translate(_CONFUSABLES)
    decomposed = unicodedata.normalize("NFD", text)
    kept = (c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me", "Cf", "Cc", "Cs", "Co"))
    return unicodedata.normalize("NFC", "".join(kept))


def _words(text: str) -> str:
    text = _APOSTROPHE.sub("", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


def fold(text: str) -> Folded:
    """The text as the purpose rules read it."""
    cased = _SPACED_LETTERS.sub(lambda m: _SEPARATORS.sub("", m.group(0)), skeleton(text))
    cased = " ".join(cased.split())
    lowered = cased.casefold()
    words = _words(lowered)
    return Folded(
        cased=cased,
        words=words,
        joined=_words(_HYPHEN_IN_WORD.sub("", lowered)),
        unleet=_MIXED_WORD.sub(_unleet, words),
    )


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    digits = sum(c.isdigit() for c in word)
    return word.translate(_LEET) if digits <= 2 and digits < len(word) - digits else word
