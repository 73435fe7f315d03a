"""Expiry rules of hotlist entries (B4, C5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.contracts.hotlists import ManualEntryIn, PartnerEntryIn
from libs.common.errors import InvalidInput
from services.records.hotlists.entries import (
    ExpiryPolicy,
    HotlistEntryIn,
    HotlistSource,
    compute_expiry,
)
from services.records.hotlists.service import expiry_report, manual_entry, partner_entries

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _entry(source: HotlistSource, expires_at: datetime, **fields: Any) -> HotlistEntryIn:
    return HotlistEntryIn(source=source, plate="ABC123", entered_at=T, refreshed_at=T, expires_at=expires_at, **fields)


class TestComputeExpiry:
    def test_manual_entry_defaults_to_30_days(self) -> None:
        assert compute_expiry(HotlistSource.MANUAL, entered_at=T, refreshed_at=T) == T + timedelta(days=30)

    def test_manual_request_beyond_30_days_is_capped(self) -> None:
        expiry = compute_expiry(HotlistSource.MANUAL, entered_at=T, refreshed_at=T, requested=T + timedelta(days=90))
        assert expiry == T + timedelta(days=30)

    def test_manual_shorter_request_is_kept(self) -> None:
        wanted = T + timedelta(days=3)
        assert compute_expiry(HotlistSource.MANUAL, entered_at=T, refreshed_at=T, requested=wanted) == wanted

    def test_manual_policy_may_shorten_the_default(self) -> None:
        policy = ExpiryPolicy(manual_ttl=timedelta(days=7))
        expiry = compute_expiry(HotlistSource.MANUAL, entered_at=T, refreshed_at=T, policy=policy)
        assert expiry == T + timedelta(days=7)

    @pytest.mark.parametrize("ttl", [timedelta(days=31), timedelta(0), timedelta(days=-1)])
    def test_manual_policy_cannot_lift_or_unset_the_cap(self, ttl: timedelta) -> None:
        with pytest.raises(InvalidInput) as refused:
            ExpiryPolicy(manual_ttl=ttl)
        assert refused.value.code == "bad_manual_ttl"

    def test_partner_entry_lapses_24_hours_after_refresh(self) -> None:
        entered = T - timedelta(days=10)
        expiry = compute_expiry(HotlistSource.PARTNER, entered_at=entered, refreshed_at=T)
        assert expiry == T + timedelta(hours=24)

    def test_partner_request_cannot_outlive_the_refresh(self) -> None:
        expiry = compute_expiry(HotlistSource.PARTNER, entered_at=T, refreshed_at=T, requested=T + timedelta(days=5))
        assert expiry == T + timedelta(hours=24)

    def test_feed_entry_lapses_when_the_feed_stops(self) -> None:
        expiry = compute_expiry(HotlistSource.NCIC, entered_at=T - timedelta(days=900), refreshed_at=T)
        assert expiry == T + timedelta(days=7)


class TestHotlistEntryIn:
    def test_manual_entry_past_30_days_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="30 days"):
            _entry(HotlistSource.MANUAL, T + timedelta(days=30, seconds=1))

    def test_partner_entry_past_24_hours_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="24 hours"):
            _entry(HotlistSource.PARTNER, T + timedelta(hours=24, seconds=1))

    def test_entry_without_expiry_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="expires_at"):
            HotlistEntryIn(source=HotlistSource.NCIC, plate="ABC123", entered_at=T, refreshed_at=T)  # type: ignore[call-arg]

    @pytest.mark.parametrize("plate", ["abc123", "AB-123", "***", "", "A" * 16])
    def test_plate_must_be_normalized(self, plate: str) -> None:
        with pytest.raises(ValidationError, match="plate"):
            HotlistEntryIn(source=HotlistSource.NCIC, plate=plate, entered_at=T, refreshed_at=T, expires_at=T)

    @pytest.mark.parametrize("priority", [-1, 101])
    def test_priority_is_0_to_100(self, priority: int) -> None:
        with pytest.raises(ValidationError, match="priority"):
            _entry(HotlistSource.NCIC, T, priority=priority)

    def test_naive_times_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="time zone"):
            _entry(HotlistSource.NCIC, T.replace(tzinfo=None))

    @pytest.mark.parametrize(("plate", "wildcard"), [("7AB*", True), ("7A?C12", True), ("7ABC123", False)])
    def test_wildcard_plates_are_accepted(self, plate: str, wildcard: bool) -> None:
        entry = HotlistEntryIn(source=HotlistSource.MANUAL, plate=plate, entered_at=T, refreshed_at=T, expires_at=T)
        assert entry.is_wildcard is wildcard


class TestWildcardMinimum:
    @pytest.mark.parametrize("plate", ["7*", "A*", "*7", "A?", "AB*", "A*B", "??A?", "?*A"])
    def test_a_wildcard_needs_three_known_characters(self, plate: str) -> None:
        # the same minimum as a partial-plate search: "7*" would match every plate starting with 7
        with pytest.raises(ValidationError) as refused:
            HotlistEntryIn(source=HotlistSource.NCIC, plate=plate, entered_at=T, refreshed_at=T, expires_at=T)
        assert refused.value.errors()[0]["type"] == "wildcard_too_short"

    @pytest.mark.parametrize("plate", ["ABC*", "7A?C", "*B7C", "7A"])
    def test_three_known_characters_or_no_wildcard_is_accepted(self, plate: str) -> None:
        HotlistEntryIn(source=HotlistSource.NCIC, plate=plate, entered_at=T, refreshed_at=T, expires_at=T)

    def test_a_partner_entry_with_one_known_character_is_refused_by_records(self) -> None:
        entries = [PartnerEntryIn(plate="7ABC123", refreshed_at=T), PartnerEntryIn(plate="7-*", refreshed_at=T)]
        report, refused = partner_entries(entries)
        assert [line.entry.plate for line in report.accepted] == ["7ABC123"]
        assert [(r.index, r.code) for r in refused] == [(1, "bad_entry")]
        assert "3 known characters" in refused[0].message

    def test_a_manual_entry_with_one_known_character_is_refused(self) -> None:
        request = ManualEntryIn(hotlist_id="h", plate="A*", entered_by="dev-admin")
        with pytest.raises(InvalidInput) as refused:
            manual_entry(request, T)
        assert refused.value.code == "invalid_entry" and "3 known characters" in refused.value.message


class TestClampReport:
    def test_a_cut_expiry_is_reported_with_what_was_asked(self) -> None:
        asked = T + timedelta(days=90)
        entry = manual_entry(_manual(asked), T)
        assert entry.expires_at == T + timedelta(days=30) and entry.expiry_clamped
        assert expiry_report(entry) == {"expiry_clamped": True, "requested_expires_at": asked}

    @pytest.mark.parametrize("asked", [None, T + timedelta(days=30), T + timedelta(days=2)])
    def test_an_expiry_within_the_ceiling_or_none_is_not_a_cut(self, asked: datetime | None) -> None:
        entry = manual_entry(_manual(asked), T)
        assert not entry.expiry_clamped
        assert expiry_report(entry) == {"expiry_clamped": False, "requested_expires_at": asked}


def _manual(expires_at: datetime | None) -> ManualEntryIn:
    return ManualEntryIn(hotlist_id="h", plate="7ABC123", expires_at=expires_at, entered_by="dev-admin")
