"""Matching read texts against the in-memory hotlist index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.records.hotlists.entries import HotlistEntryIn, HotlistSource, compute_expiry
from services.records.hotlists.matching import HotlistIndex, MatchType
from services.records.lookalike import LookalikeClasses

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _entry(plate: str, state: str | None = "CA", **fields: Any) -> HotlistEntryIn:
    source = fields.pop("source", HotlistSource.NCIC)
    return HotlistEntryIn(
        source=source,
        plate=plate,
        state=state,
        entered_at=T,
        refreshed_at=T,
        expires_at=fields.pop("expires_at", T + timedelta(days=7)),
        **fields,
    )


def _index(*entries: HotlistEntryIn) -> HotlistIndex:
    index = HotlistIndex()
    for entry_id, entry in enumerate(entries, start=1):
        index.add(entry_id, entry)
    return index


class TestMatchTypes:
    def test_exact(self) -> None:
        [hit] = _index(_entry("7ABC123")).match([("7ABC123", "vendor")], "CA", T)
        assert (hit.entry_id, hit.match_type, hit.text, hit.origin) == (
            1,
            MatchType.EXACT,
            "7ABC123",
            "vendor",
        )
        assert (hit.entry_plate, hit.entry_state, hit.state_mismatch) == ("7ABC123", "CA", False)
        assert hit.source is HotlistSource.NCIC

    @pytest.mark.parametrize("misread", ["7A8C123", "7ABC1Z3", "7ABCI23", "7ABC12E"])
    def test_lookalike(self, misread: str) -> None:
        hits = _index(_entry("7ABC123")).match([(misread, "ours")], "CA", T)
        if misread == "7ABC12E":  # E looks like nothing on the default list
            assert hits == []
            return
        [hit] = hits
        assert (hit.match_type, hit.text, hit.origin, hit.entry_plate) == (
            MatchType.LOOKALIKE, misread, "ours", "7ABC123",
        )  # fmt: skip

    def test_exact_wins_over_lookalike_for_one_entry(self) -> None:
        index = _index(_entry("0O1234"))
        [hit] = index.match([("OO1234", "vendor"), ("0O1234", "candidate")], None, T)
        assert (hit.match_type, hit.text, hit.origin) == (MatchType.EXACT, "0O1234", "candidate")

    def test_earliest_text_wins_between_equal_matches(self) -> None:
        [hit] = _index(_entry("7ABC123")).match([("7ABC123", "vendor"), ("7ABC123", "ours")], "CA", T)
        assert hit.origin == "vendor"

    @pytest.mark.parametrize(
        ("pattern", "text", "matches"),
        [
            ("7AB*", "7ABC123", True),
            ("7AB*", "7AB", True),
            ("7AB*", "X7ABC12", False),
            ("*C123", "7ABC123", True),
            ("7A?C123", "7ABC123", True),
            ("7A?C123", "7AC123", False),
            ("7A?C123", "7ABBC123", False),
            ("?ABC12?", "7ABC123", True),
            ("*BC1*", "7ABC123", True),
            ("*BC1*", "7ABD123", False),
            ("??C1?3", "7ABC123", False),
            ("???C1?3", "7ABC123", True),
        ],
    )
    def test_wildcard(self, pattern: str, text: str, matches: bool) -> None:
        hits = _index(_entry(pattern)).match([(text, "vendor")], "CA", T)
        assert [(hit.match_type, hit.entry_plate, hit.text) for hit in hits] == (
            [(MatchType.WILDCARD, pattern, text)] if matches else []
        )

    def test_several_entries_ordered_by_priority(self) -> None:
        index = _index(
            _entry("7ABC123", priority=60),
            _entry("7A8C123", priority=10),
            _entry("7ABC*", priority=30),
            _entry("9XYZ000"),
        )
        hits = index.match([("7ABC123", "vendor"), ("9XYZ001", "ours")], "CA", T)
        assert [(hit.entry_id, hit.match_type) for hit in hits] == [
            (2, MatchType.LOOKALIKE), (3, MatchType.WILDCARD), (1, MatchType.EXACT),
        ]  # fmt: skip

    def test_custom_lookalike_classes(self) -> None:
        index = HotlistIndex(LookalikeClasses.parse("0O,E F"))
        index.add("a", _entry("7ABC12E"))
        index.add("b", _entry("7ABC123"))
        assert [hit.entry_id for hit in index.match([("7ABC12F", "vendor")], None, T)] == ["a"]
        assert index.match([("7A8C123", "vendor")], None, T) == []


class TestStateAndExpiry:
    def test_state_mismatch_is_a_hit_with_a_note(self) -> None:
        index = _index(_entry("7ABC123", state="NV"), _entry("7ABC124", state=None))
        [hit] = index.match([("7ABC123", "vendor")], "CA", T)
        assert hit.state_mismatch is True
        [stateless] = index.match([("7ABC124", "vendor")], "CA", T)
        assert stateless.state_mismatch is False
        [unknown_read_state] = index.match([("7ABC123", "vendor")], None, T)
        assert unknown_read_state.state_mismatch is False

    def test_partner_entry_lapses_24_hours_after_refresh(self) -> None:
        refreshed = T - timedelta(days=3)
        expiry = compute_expiry(HotlistSource.PARTNER, entered_at=refreshed, refreshed_at=refreshed)
        entry = HotlistEntryIn(
            source=HotlistSource.PARTNER,
            plate="7ABC123",
            entered_at=refreshed,
            refreshed_at=refreshed,
            expires_at=expiry,
        )
        index = _index(entry)
        texts = [("7ABC123", "vendor")]
        assert len(index.match(texts, "CA", refreshed + timedelta(hours=24, seconds=-1))) == 1
        assert index.match(texts, "CA", refreshed + timedelta(hours=24)) == []
        assert index.match(texts, "CA", refreshed + timedelta(hours=24, seconds=1)) == []

    def test_expired_wildcard_never_matches(self) -> None:
        index = _index(_entry("7AB*", expires_at=T))
        assert index.match([("7ABC123", "vendor")], "CA", T) == []
        assert len(index.match([("7ABC123", "vendor")], "CA", T - timedelta(seconds=1))) == 1


class TestIndexUpkeep:
    def test_remove_and_replace(self) -> None:
        index = _index(_entry("7ABC123"), _entry("7A8C123"), _entry("7AB*"))
        assert index.remove(1) and index.remove(3)
        assert not index.remove(1)
        assert [hit.entry_id for hit in index.match([("7ABC123", "vendor")], "CA", T)] == [2]
        index.add(2, _entry("5XYZ999"))
        assert index.match([("7ABC123", "vendor")], "CA", T) == []
        assert len(index) == 1 and 2 in index

    def test_purge_expired(self) -> None:
        index = _index(_entry("7ABC123", expires_at=T), _entry("7ABC124"), _entry("7AB?", expires_at=T))
        assert sorted(index.purge_expired(T)) == [1, 3]
        assert len(index) == 1
        assert [hit.entry_id for hit in index.match([("7ABC124", "vendor")], "CA", T)] == [2]
