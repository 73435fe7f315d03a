"""Matching reads against the active hotlist entries, held in memory.

Cost per read of k texts: one `str.translate` and one dict lookup per text for exact and look-alike
matches, O(k) whatever the number of entries; wildcard entries add four dict lookups per text (their
literal first or last one or two characters) plus a regex test of each pattern in the buckets hit,
and of the few patterns with no literal end (`*AB*`): O(k * w / 1300) for w patterns.
Memory per entry (about 320 bytes): one 5-tuple, the plate, its look-alike key when it differs, and a
slot in two dicts. Texts must be normalized plates (`normalize_plate`), as the gateway publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from services.records.hotlists.entries import EntryId, HotlistSource
from services.records.hotlists.wildcards import WildcardPatterns
from services.records.lookalike import DEFAULT_LOOKALIKES, LookalikeClasses

# plate, state, expiry (POSIX seconds), priority, source: a tuple, not the model, to keep 1M entries small
EntryRecord = tuple[str, str | None, float, int, HotlistSource]


class IndexableEntry(Protocol):
    """What the index keeps of an entry: a parsed `HotlistEntryIn` or a lighter stored row will do."""

    @property
    def plate(self) -> str: ...
    @property
    def state(self) -> str | None: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def priority(self) -> int: ...
    @property
    def source(self) -> HotlistSource: ...
    @property
    def is_wildcard(self) -> bool: ...


class MatchType(StrEnum):
    EXACT = "exact"
    LOOKALIKE = "lookalike"
    WILDCARD = "wildcard"


class TextOrigin(StrEnum):
    VENDOR = "vendor"  # the camera or agent's own reading
    OURS = "ours"  # our recognizer's reading
    CANDIDATE = "candidate"  # a lower-ranked candidate of either
    CORRECTION = "correction"  # an officer's correction of the read (G3), typed from its image


@dataclass(frozen=True, slots=True)
class Hit:
    """A read text that matched an active entry; a mismatched state is noted, never dropped (E2, E5)."""

    entry_id: EntryId
    match_type: MatchType
    text: str
    origin: str
    entry_plate: str
    entry_state: str | None
    state_mismatch: bool
    source: HotlistSource
    priority: int
    expires_at: datetime


_RANK = {MatchType.EXACT: 0, MatchType.WILDCARD: 1, MatchType.LOOKALIKE: 2}


class HotlistIndex:
    """The active entries of all hotlists, keyed for sub-millisecond matching of a read."""

    def __init__(self, classes: LookalikeClasses = DEFAULT_LOOKALIKES) -> None:
        self._classes = classes
        self._records: dict[EntryId, EntryRecord] = {}
        self._by_key: dict[str, EntryId | list[EntryId]] = {}  # one id, or a list when plates share a key
        self._wildcards = WildcardPatterns()

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._records

    def add(self, entry_id: EntryId, entry: IndexableEntry) -> None:
        """Index an entry, replacing any entry already held under the same id."""
        if entry_id in self._records:
            self.remove(entry_id)
        plate = entry.plate
        self._records[entry_id] = (
            plate,
            entry.state,
            entry.expires_at.timestamp(),
            entry.priority,
            entry.source,
        )
        if entry.is_wildcard:
            self._wildcards.add(entry_id, plate)
            return
        key = self._classes.key(plate)
        key = plate if key == plate else key  # share the plate's string when no character maps
        held = self._by_key.get(key)
        if held is None:
            self._by_key[key] = entry_id
        elif isinstance(held, list):
            held.append(entry_id)
        else:
            self._by_key[key] = [held, entry_id]

    def remove(self, entry_id: EntryId) -> bool:
        """Drop an entry; False when it was not indexed."""
        record = self._records.pop(entry_id, None)
        if record is None:
            return False
        if self._wildcards.remove(entry_id):
            return True
        key = self._classes.key(record[0])
        held = self._by_key[key]
        if isinstance(held, list):
            held.remove(entry_id)
            if len(held) == 1:
                self._by_key[key] = held[0]
        else:
            del self._by_key[key]
        return True

    def purge_expired(self, now: datetime) -> list[EntryId]:
        """Remove the entries expired at `now` (a full scan: run it on a timer, not per read)."""
        cutoff = now.timestamp()
        expired = [entry_id for entry_id, record in self._records.items() if record[2] <= cutoff]
        for entry_id in expired:
            self.remove(entry_id)
        return expired

    def match(self, texts: list[tuple[str, str]], state: str | None, now: datetime) -> list[Hit]:
        """Hits for a read's (text, origin) pairs: one per entry, by priority (0 first), then strength."""
        records, by_key, table = self._records, self._by_key, self._classes.table
        wildcard_matching = self._wildcards.matching if self._wildcards else None
        best: dict[EntryId, tuple[int, int, MatchType, str, str]] = {}
        for order, (text, origin) in enumerate(texts):
            held = by_key.get(text.translate(table))
            if held is not None:
                for entry_id in held if isinstance(held, list) else (held,):
                    match_type = MatchType.EXACT if records[entry_id][0] == text else MatchType.LOOKALIKE
                    _keep(best, entry_id, (_RANK[match_type], order, match_type, text, origin))
            if wildcard_matching is not None and text:
                for entry_id in wildcard_matching(text):
                    _keep(best, entry_id, (_RANK[MatchType.WILDCARD], order, MatchType.WILDCARD, text, origin))
        if not best:
            return []
        now_ts = now.timestamp()
        hits = []
        for entry_id, (_rank, _order, match_type, text, origin) in best.items():
            plate, entry_state, expires_ts, priority, source = records[entry_id]
            if expires_ts <= now_ts:
                continue
            mismatch = entry_state is not None and state is not None and entry_state != state
            expires_at = datetime.fromtimestamp(expires_ts, UTC)
            hit = Hit(entry_id, match_type, text, origin, plate, entry_state, mismatch, source, priority, expires_at)
            hits.append(hit)
        hits.sort(key=lambda hit: (hit.priority, _RANK[hit.match_type], hit.state_mismatch))
        return hits


def _keep(
    best: dict[EntryId, tuple[int, int, MatchType, str, str]],
    entry_id: EntryId,
    found: tuple[int, int, MatchType, str, str],
) -> None:
    # Per entry keep the strongest match type, then the earliest text (callers list the vendor's first).
    held = best.get(entry_id)
    if held is None or found[:2] < held[:2]:
        best[entry_id] = found
