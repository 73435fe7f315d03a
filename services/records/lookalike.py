"""Look-alike plate characters: the classes of glyphs that plate readers confuse with one another.

`lookalike_key` maps every character to the first member of its class, so two plates that differ
only by look-alike characters share one key. Hotlist matching and read search both index on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from libs.common.errors import InvalidInput

# The confusions Nlets LMI/ and OCR vendors name (FORMATS.md §12.5): O/0/D/Q round glyphs,
# 1/I/L vertical strokes, and the digit/letter pairs 8/B, 5/S, 2/Z, 6/G. T is left out of the
# 1 class on purpose: it widens the class for every plate to catch a rare confusion.
DEFAULT_LOOKALIKE_SPEC = "0ODQ,1IL,8B,5S,2Z,6G"

_PLATE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@dataclass(frozen=True)
class LookalikeClasses:
    """Disjoint classes of look-alike characters; the first character of each is its representative."""

    classes: tuple[str, ...]
    table: str = field(init=False, repr=False, compare=False)  # for `str.translate`

    def __post_init__(self) -> None:
        seen: set[str] = set()
        table: dict[int, int] = {}
        for members in self.classes:
            for char in members:
                if char not in _PLATE_CHARS:
                    raise InvalidInput(f"{char!r} is not a plate character", code="bad_lookalike_class")
                if char in seen:
                    raise InvalidInput(f"{char!r} is in two look-alike classes", code="bad_lookalike_class")
                seen.add(char)
                table[ord(char)] = ord(members[0])
        # A string table indexed by code point is about twice as fast as a dict; other characters pass.
        object.__setattr__(self, "table", "".join(chr(table.get(point, point)) for point in range(128)))

    @classmethod
    def parse(cls, spec: str) -> LookalikeClasses:
        """Read classes from a settings string such as `"0OD Q,1IL,8B"`; spaces inside a class are ignored."""
        classes = tuple("".join(part.split()).upper() for part in spec.split(","))
        return cls(tuple(members for members in classes if len(members) > 1))

    def key(self, plate: str) -> str:
        """The plate with every character replaced by its class representative."""
        return plate.translate(self.table)


DEFAULT_LOOKALIKES = LookalikeClasses.parse(DEFAULT_LOOKALIKE_SPEC)


def lookalike_key(plate: str, classes: LookalikeClasses = DEFAULT_LOOKALIKES) -> str:
    """The look-alike key of a normalized plate: equal keys mean the plates may be the same plate misread."""
    return classes.key(plate)
