"""Records checks a partner's list again, as depth behind sharing; our own lists keep their own rules."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.hotlists import (
    HOTLIST_ADD_ENTRY,
    HOTLIST_CREATE,
    HOTLIST_PARTNER_UPSERT,
    PARTNER_WILDCARDS_MAX,
    HotlistCreateRequest,
    ManualEntryIn,
    PartnerEntryIn,
    PartnerUpsert,
)
from libs.common.errors import InvalidInput
from services.records.hotlists.service import partner_entries
from tests.services.records.test_hotlist_exchange import read_hits

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
AGENCY = "CA0430000"


def partner_ori() -> str:
    return "CA" + str(uuid.uuid4().int)[:7]


def entries(*plates: str, **fields: Any) -> list[PartnerEntryIn]:
    return [PartnerEntryIn(plate=p, refreshed_at=NOW, **fields) for p in plates]


class TestPartnerEntries:
    @pytest.mark.parametrize("wildcard", ["*000", "7AB*", "*A*B*C*"])
    def test_a_partner_wildcard_with_three_known_characters_is_refused(self, wildcard: str) -> None:
        report, refused = partner_entries(entries("7ABC123", wildcard), NOW)
        assert [line.entry.plate for line in report.accepted] == ["7ABC123"]
        assert [(r.index, r.code) for r in refused] == [(1, "wildcard_too_short")]

    def test_wildcards_past_the_cap_refuse_the_list(self) -> None:
        wildcards = [f"*{n:04d}" for n in range(PARTNER_WILDCARDS_MAX + 1)]
        report, _ = partner_entries(entries(*wildcards[:-1]), NOW)
        assert len(report.accepted) == PARTNER_WILDCARDS_MAX
        with pytest.raises(InvalidInput) as refused:
            partner_entries(entries("7ABC123", *wildcards), NOW)
        assert refused.value.code == "too_many_wildcards"
        assert refused.value.details["index"] == PARTNER_WILDCARDS_MAX + 1

    def test_a_repeat_is_refused_and_the_first_kept_whatever_its_refresh(self) -> None:
        old = PartnerEntryIn(plate="7abc-123", state="ca", refreshed_at=NOW - timedelta(hours=30))
        report, refused = partner_entries([*entries("7ABC123", state="CA"), old], NOW)
        assert [line.entry.refreshed_at for line in report.accepted] == [NOW]
        assert [(r.index, r.code) for r in refused] == [(1, "duplicate_entry")]
        assert "entry 0" in refused[0].message

    def test_an_entry_dated_in_the_future_is_refused_and_a_little_ahead_is_cut_to_now(self) -> None:
        far, near = NOW + timedelta(days=3650), NOW + timedelta(minutes=1)
        report, refused = partner_entries(
            [PartnerEntryIn(plate="7ABC123", refreshed_at=NOW, entered_at=far), *entries("8ABC123", entered_at=near)],
            NOW,
        )
        assert [(r.index, r.code) for r in refused] == [(0, "entered_in_future")]
        assert [(line.entry.plate, line.entry.entered_at) for line in report.accepted] == [("8ABC123", NOW)]


@pytest.mark.asyncio(loop_scope="session")
class TestLists:
    async def test_a_partner_list_past_the_cap_is_refused_by_records_itself(self, system: Any) -> None:
        now = datetime.now(UTC)
        wildcards = [PartnerEntryIn(plate=f"*W{n:03d}", refreshed_at=now) for n in range(PARTNER_WILDCARDS_MAX + 1)]
        request = PartnerUpsert(partner_ori=partner_ori(), agreement_id="AGR-7", entries=wildcards)
        with pytest.raises(InvalidInput) as refused:
            await system.runtime("gateway").bus.call(HOTLIST_PARTNER_UPSERT, request)
        assert refused.value.code == "too_many_wildcards"

    async def test_our_own_list_keeps_three_known_characters_and_no_wildcard_count(self, system: Any) -> None:
        bus = system.runtime("gateway").bus
        hotlist = await bus.call(HOTLIST_CREATE, HotlistCreateRequest(name=f"own {uuid.uuid4().hex}", source="manual"))
        # letters outside hex, so no other test's plate meets these patterns; they lapse in 10 minutes
        prefixes = random.sample([a + b for a in "GHJKLMNPRSTUVXYZ" for b in "GHJKLMNPRSTUVXYZ"], 30)
        expires = datetime.now(UTC) + timedelta(minutes=10)
        for prefix in prefixes:
            entry = ManualEntryIn(
                hotlist_id=hotlist.hotlist_id, plate=f"W{prefix}*", expires_at=expires, entered_by="test"
            )
            await bus.call(HOTLIST_ADD_ENTRY, entry)
        assert await read_hits(system, f"W{prefixes[-1]}1234") is True
