"""A partner's list as a whole, at the sharing door: few wildcards, each naming 4 characters, no repeats or future."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.contracts.hotlists import PARTNER_WILDCARDS_MAX, PartnerEntryIn
from libs.common.errors import InvalidInput
from services.sharing.partners.plates import check_partner_list, check_wildcard

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def plate() -> str:
    return "4" + uuid.uuid4().hex[:6].upper().replace("O", "0")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def entries(*plates: str, **fields: Any) -> list[PartnerEntryIn]:
    return [PartnerEntryIn(plate=p, refreshed_at=NOW, **fields) for p in plates]


async def held(system: Any, ori: str) -> dict[str, datetime]:
    """What records holds live for the partner: plate → entered_at."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT e.plate, e.entered_at FROM records.hotlist_entries e "
            "JOIN records.hotlists h ON h.hotlist_id = e.hotlist_id "
            "WHERE h.partner_ori = $1 AND e.removed_at IS NULL",
            ori,
        )
    finally:
        await conn.close()
    return {r["plate"]: r["entered_at"] for r in rows}


class TestWildcardRules:
    @pytest.mark.parametrize("wildcard", ["*000", "7AB*", "7A?C", "*A*B*C*", "7-A-B-*"])
    def test_a_partner_wildcard_with_three_known_characters_is_refused(self, wildcard: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            check_wildcard(wildcard, index=3)
        assert refused.value.code == "wildcard_too_short" and refused.value.details == {"index": 3}

    @pytest.mark.parametrize("accepted", ["*0000", "7ABC*", "7A?C1", "*A*B*C*D*", "7ABC123"])
    def test_four_known_characters_or_a_full_plate_pass(self, accepted: str) -> None:
        check_wildcard(accepted, index=0)

    def test_the_wildcard_past_the_cap_is_refused_by_its_index(self) -> None:
        wildcards = [f"*{n:04d}" for n in range(PARTNER_WILDCARDS_MAX + 1)]
        with pytest.raises(InvalidInput) as refused:
            check_partner_list(entries("7ABC123", *wildcards))
        assert refused.value.code == "too_many_wildcards"
        assert refused.value.details["index"] == PARTNER_WILDCARDS_MAX + 1  # the full plate came first

    def test_the_cap_counts_wildcards_only(self) -> None:
        full = [f"7ABC{n:03d}" for n in range(500)]
        check_partner_list(entries(*full, *(f"*{n:04d}" for n in range(PARTNER_WILDCARDS_MAX))))


class TestDuplicates:
    @pytest.mark.parametrize(("first", "second"), [("7ABC123", "7ABC123"), ("7ABC123", "7abc-123"), ("7ABC*", "7ABC*")])
    def test_a_plate_sent_twice_is_refused_naming_both(self, first: str, second: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            check_partner_list(entries("8XYZ999", first, second, state="CA"))
        assert refused.value.code == "duplicate_entry"
        assert refused.value.details == {"index": 2, "first_index": 1}

    def test_the_same_plate_in_two_states_is_two_entries(self) -> None:
        check_partner_list([*entries("7ABC123", state="CA"), *entries("7ABC123", state="NV")])


@pytest.mark.asyncio(loop_scope="session")
class TestPartnerPut:
    async def test_a_thousand_suffix_wildcards_are_refused_and_nothing_is_stored(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        flood = [{"plate": f"*{n:03d}"} for n in range(1000)]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": flood}, headers=bearer(token))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "wildcard_too_short" and error["details"]["index"] == 0
        assert await held(system, setup["ori"]) == {}

    async def test_four_known_wildcards_past_the_cap_are_refused(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        # W is never in the hex plates other tests read, so the kept patterns hit none of their reads
        flood = [{"plate": plate()}, *({"plate": f"*W{n:03d}"} for n in range(PARTNER_WILDCARDS_MAX + 1))]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": flood}, headers=bearer(token))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "too_many_wildcards" and error["details"]["index"] == PARTNER_WILDCARDS_MAX + 1
        assert await held(system, setup["ori"]) == {}

        within = flood[: PARTNER_WILDCARDS_MAX + 1]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": within}, headers=bearer(token))
        assert response.status_code == 200, response.text
        assert len(await held(system, setup["ori"])) == PARTNER_WILDCARDS_MAX + 1

    async def test_a_duplicate_is_refused_whichever_refresh_is_older(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        twice, old = plate(), (datetime.now(UTC) - timedelta(hours=30)).isoformat()
        body = [{"plate": twice, "state": "CA"}, {"plate": twice, "state": "CA", "refreshed_at": old}]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": body}, headers=bearer(token))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "duplicate_entry" and error["details"] == {"index": 1, "first_index": 0}
        assert await held(system, setup["ori"]) == {}

    async def test_an_entry_dated_in_the_future_is_refused(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        future = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
        body = [{"plate": plate(), "state": "CA"}, {"plate": plate(), "state": "CA", "entered_at": future}]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": body}, headers=bearer(token))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "entered_in_future" and error["details"]["index"] == 1
        assert await held(system, setup["ori"]) == {}

    async def test_a_clock_a_minute_ahead_is_kept_at_now(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        ahead, sent = plate(), datetime.now(UTC)
        body = [{"plate": ahead, "state": "CA", "entered_at": (sent + timedelta(minutes=1)).isoformat()}]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": body}, headers=bearer(token))
        assert response.status_code == 200, response.text
        assert (await held(system, setup["ori"]))[ahead] <= datetime.now(UTC), "an entry's age is never negative"

    async def test_a_naive_entry_time_is_refused_not_a_server_error(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        body = [{"plate": plate(), "entered_at": "2026-11-28T10:00:00"}]
        response = await system.gateway.put("/partner/v1/hotlists", json={"entries": body}, headers=bearer(token))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "naive_datetime"
