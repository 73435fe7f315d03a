"""D4's lockout counts a person's failed sign-ins within ALPR_LOCKOUT_WINDOW_S, not a fixed quarter hour."""

from __future__ import annotations

import pytest

from tests.utils.registry_people import bearer, fetch, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _status_after_one_failure(system, sub: str, *, earlier_minutes_ago: int) -> str:  # type: ignore[no-untyped-def]
    """Four failures `earlier_minutes_ago`, then a fifth now (an expired token of the identity provider)."""
    await fetch(
        system,
        "INSERT INTO gateway.auth_failures (sub, reason, failed_at) "
        "SELECT $1, 'token_expired', now() - make_interval(mins => $2) FROM generate_series(1, 4)",
        sub,
        earlier_minutes_ago,
    )
    assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=-3600))).status_code == 401
    rows = await fetch(system, "SELECT status FROM gateway.persons WHERE sub = $1", sub)
    return str(rows[0]["status"])


class TestLockoutWindow:
    async def test_failures_before_the_window_do_not_count(self, system, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(system.runtime("gateway").settings, "lockout_window_s", 600)
        sub = await put_person(system, new_sub("win"), ["officer"])
        assert await _status_after_one_failure(system, sub, earlier_minutes_ago=12) == "active"

    async def test_failures_within_a_longer_window_lock_the_account(self, system, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        monkeypatch.setattr(system.runtime("gateway").settings, "lockout_window_s", 3600)
        sub = await put_person(system, new_sub("win"), ["officer"])
        assert await _status_after_one_failure(system, sub, earlier_minutes_ago=20) == "locked"
