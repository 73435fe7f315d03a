"""Wildcard hotlist plates (`*` any run, `?` one character), bucketed by their literal ends."""

from __future__ import annotations

import re

from services.records.hotlists.entries import EntryId

# Patterns are bucketed by their first (or last) one or two literal characters: two characters make
# about 1,300 buckets, so even thousands of patterns leave a text only a few regexes to try.
ANCHOR_LENGTH = 2
_WILD = "*?"

Bucket = dict[EntryId, re.Pattern[str]]


def compile_pattern(plate: str) -> re.Pattern[str]:
    """A regex for a wildcard plate: `*` any run of characters (empty too), `?` exactly one."""
    body = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in plate)
    return re.compile(body)


def _literal_ends(plate: str) -> tuple[str, str]:
    first = min(plate.index(char) for char in _WILD if char in plate)
    last = max(plate.rindex(char) for char in _WILD if char in plate)
    return plate[:first][:ANCHOR_LENGTH], plate[last + 1 :][-ANCHOR_LENGTH:]


class WildcardPatterns:
    """Wildcard entries found by literal prefix or suffix, so a text is tested against few regexes."""

    def __init__(self) -> None:
        self._patterns: dict[EntryId, tuple[re.Pattern[str], bool, str]] = {}
        self._by_prefix: dict[str, Bucket] = {}
        self._by_suffix: dict[str, Bucket] = {}
        self._unanchored: Bucket = {}  # `*AB*`, `?AB?`: no literal end, so tried on every text

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def add(self, entry_id: EntryId, plate: str) -> None:
        """Bucket a pattern under its longer literal end (the prefix on a tie)."""
        pattern = compile_pattern(plate)
        prefix, suffix = _literal_ends(plate)
        by_prefix = len(prefix) >= len(suffix)
        anchor = prefix if by_prefix else suffix
        self._patterns[entry_id] = (pattern, by_prefix, anchor)
        self._bucket(by_prefix, anchor)[entry_id] = pattern

    def remove(self, entry_id: EntryId) -> bool:
        """Drop a pattern; False when the id holds none."""
        held = self._patterns.pop(entry_id, None)
        if held is None:
            return False
        _, by_prefix, anchor = held
        bucket = self._bucket(by_prefix, anchor)
        del bucket[entry_id]
        if not bucket and anchor:
            del (self._by_prefix if by_prefix else self._by_suffix)[anchor]
        return True

    def matching(self, text: str) -> list[EntryId]:
        """The ids of the patterns that match the whole text (four dict lookups, then a few regexes)."""
        found = []
        prefix, suffix = self._by_prefix, self._by_suffix
        ends = (prefix.get(text[:1]), prefix.get(text[:2]), suffix.get(text[-1:]), suffix.get(text[-2:]))
        for bucket in (*ends, self._unanchored):
            if bucket:
                for entry_id, pattern in bucket.items():
                    if pattern.fullmatch(text):
                        found.append(entry_id)
        return found

    def _bucket(self, by_prefix: bool, anchor: str) -> Bucket:
        if not anchor:
            return self._unanchored
        return (self._by_prefix if by_prefix else self._by_suffix).setdefault(anchor, {})
