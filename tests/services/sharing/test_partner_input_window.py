"""A partner search's window runs forwards: until defaults to now, and an inverted one is refused uncounted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from libs.common.errors import InvalidInput
from services.sharing.partners.agreements import authorize_partner_search


def search(agreement, now, **window):
    return authorize_partner_search(
        agreement, scope="reads:search", use="stolen_or_wanted_vehicle", now=now, **{"until": None, **window}
    )


class TestInvertedWindow:
    @pytest.mark.parametrize(
        ("since", "until"),
        [
            (timedelta(days=3), None),  # until is now
            (timedelta(minutes=3), timedelta(minutes=5)),  # in order, but wholly after now
            (timedelta(days=-1), timedelta(days=-2)),
        ],
    )
    def test_a_window_starting_after_its_end_is_refused(self, agreement, now, since, until) -> None:
        with pytest.raises(InvalidInput) as refused:
            search(agreement, now, since=now + since, until=None if until is None else now + until)
        assert refused.value.code == "invalid_window" and refused.value.details == {"field": "since"}

    def test_a_window_ending_now_or_later_is_cut_to_now(self, agreement, now) -> None:
        window = search(agreement, now, since=now - timedelta(days=1), until=now + timedelta(minutes=5))
        assert (window.since, window.until) == (now - timedelta(days=1), now)
        assert search(agreement, now, since=now).until == now


@pytest.mark.asyncio(loop_scope="session")
class TestPartnerSearch:
    async def test_a_future_since_is_refused_before_the_ledger_or_the_figures_count_it(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        plate = "6" + uuid.uuid4().hex[:6].upper()
        since = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        body = partners.search_body(setup["ori"], plate, since=since, until=None)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            figures = "SELECT coalesce(sum(n), 0) FROM sharing.monthly_figures WHERE figure = 'partner_shares'"
            before = await conn.fetchval(figures)
            response = await system.gateway.post(
                "/partner/v1/searches", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 422, response.text
            error = response.json()["error"]
            assert error["code"] == "invalid_window" and error["details"]["field"] == "since"
            ledger = "SELECT count(*) FROM sharing.share_ledger WHERE agreement_id = $1"
            assert await conn.fetchval(ledger, setup["agreement_id"]) == 0
            assert await conn.fetchval(figures) == before
        finally:
            await conn.close()
