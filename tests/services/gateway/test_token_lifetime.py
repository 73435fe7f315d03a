"""People's tokens: a bounded lifetime from a stated issue time, and a replayed token counted once (D4)."""

from __future__ import annotations

import time

import pytest
from jose import jwt

from services.cli.dev_issuer import DEV_AUDIENCE, DEV_ISSUER
from tests.utils.registry_people import bearer, fetch, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")
HOUR = 3600


async def status_of(system, sub: str) -> str:  # type: ignore[no-untyped-def]
    return str((await fetch(system, "SELECT status FROM gateway.persons WHERE sub = $1", sub))[0]["status"])


class TestLifetime:
    async def test_a_ten_year_token_is_refused(self, system) -> None:
        sub = await put_person(system, new_sub("life"), ["officer"])
        response = await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=10 * 365 * 24 * HOUR))
        assert response.status_code == 401
        assert await status_of(system, sub) == "active"  # the issuer's fault, not a failed sign-in of theirs

    async def test_twelve_hours_is_the_default_most(self, system) -> None:
        sub = await put_person(system, new_sub("life"), ["officer"])
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=12 * HOUR))).is_success
        longer = await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=12 * HOUR + 60))
        assert longer.status_code == 401

    async def test_a_token_without_an_issue_time_is_refused(self, system) -> None:
        sub = await put_person(system, new_sub("life"), ["officer"])
        now = int(time.time())
        claims = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": sub, "exp": now + 600}
        key, kid = system.stack.issuer.key_path.read_text(), system.stack.issuer.kid
        for body in (claims, {**claims, "iat": None}):
            token = jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})
            response = await system.gateway.get("/v1/approvals", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401

    async def test_an_issue_time_in_the_future_cannot_stretch_the_lifetime(self, system) -> None:
        sub = await put_person(system, new_sub("life"), ["officer"])
        later = int(time.time()) + 10 * 365 * 24 * HOUR
        token = bearer(system, sub, ttl_s=10 * 365 * 24 * HOUR + HOUR, extra={"iat": later})
        assert (await system.gateway.get("/v1/approvals", headers=token)).status_code == 401


class TestReplayedFailures:
    async def test_five_replays_of_one_expired_token_do_not_lock_its_owner(self, system) -> None:
        sub = await put_person(system, new_sub("replay"), ["officer"])
        expired = bearer(system, sub, ttl_s=-HOUR)
        for _ in range(6):
            assert (await system.gateway.get("/v1/approvals", headers=expired)).status_code == 401
        assert await status_of(system, sub) == "active"
        assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).is_success

    async def test_five_different_failed_tokens_still_lock(self, system) -> None:
        sub = await put_person(system, new_sub("replay"), ["officer"])
        replayed = bearer(system, sub, ttl_s=-HOUR)
        for _ in range(3):
            await system.gateway.get("/v1/approvals", headers=replayed)
        for _ in range(4):  # with the replayed one, five tokens not seen before
            await system.gateway.get("/v1/approvals", headers=bearer(system, sub, ttl_s=-HOUR))
        assert await status_of(system, sub) == "locked"

    async def test_a_respelled_signature_is_the_same_token(self, system) -> None:
        """The signature's last base64 character has spare bits: changing them must not make a new token."""
        sub = await put_person(system, new_sub("replay"), ["officer"])
        token = bearer(system, sub, ttl_s=-HOUR)["Authorization"].removeprefix("Bearer ")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(token[-1])
        spellings = [token[:-1] + alphabet[(last & ~0b1111) | low] for low in range(6)]
        for spelling in spellings:
            await system.gateway.get("/v1/approvals", headers={"Authorization": f"Bearer {spelling}"})
        assert await status_of(system, sub) == "active"
