"""People's tokens against keys fetched from the identity provider (a local one that rotates mid-test):
rotation without a restart, a rate-limited refresh on an unknown kid, the last good keys when it is down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from prometheus_client import REGISTRY

from libs.common.errors import Unauthenticated
from libs.common.oauth.keys import SigningKey
from libs.common.tokens import TokenVerifier
from services.gateway.identity_keys import FetchPolicy, ProviderKeys, cache_lifetime
from tests.utils.identity_provider import AUDIENCE, Provider, serving

Starter = Callable[..., Awaitable[TokenVerifier]]
POLICY = FetchPolicy(min_cache_s=60, max_cache_s=3600, default_cache_s=600, min_interval_s=30, timeout_s=2)


class Clock:
    """Monotonic time a test moves by hand, so cache lifetimes and refresh intervals need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def provider() -> Iterator[Provider]:
    with serving(Provider(keys=[SigningKey.generate("ES256")])) as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def opened() -> AsyncIterator[list[ProviderKeys]]:
    """The key sources a test started, closed after it."""
    sources: list[ProviderKeys] = []
    yield sources
    for keys in sources:
        await keys.close()


@pytest.fixture
def started(opened: list[ProviderKeys]) -> Starter:
    async def start(provider: Provider, clock: Clock, *, discovery: bool = False) -> TokenVerifier:
        keys = (
            ProviderKeys(issuer=provider.issuer, policy=POLICY, clock=clock)
            if discovery
            else ProviderKeys(jwks_url=provider.jwks_url, policy=POLICY, clock=clock)
        )
        opened.append(keys)
        await keys.start()
        return TokenVerifier(keys, issuer=provider.issuer, audience=AUDIENCE, max_lifetime_s=3600)

    return start


def failed_fetches() -> float:
    return REGISTRY.get_sample_value("alpr_oidc_key_fetches_total", {"outcome": "failed"}) or 0.0


async def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401 and refused.value.code == "invalid_token"
    return str(refused.value.details["reason"])


class TestRotation:
    async def test_a_new_key_is_fetched_once_and_the_old_one_works_until_it_leaves_the_set(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        old = provider.keys[0]
        verifier = await started(provider, clock)
        assert (await verifier.verify(provider.token(old)))["sub"] == "officer-1"
        assert provider.hits["jwks"] == 1

        new = provider.rotate()
        clock.advance(POLICY.min_interval_s)
        assert (await verifier.verify(provider.token(new, sub="officer-2")))["sub"] == "officer-2"
        assert provider.hits["jwks"] == 2  # the unknown kid fetched the set once
        for _ in range(5):
            await verifier.verify(provider.token(new))
            await verifier.verify(provider.token(old))
        assert provider.hits["jwks"] == 2  # both keys known: no more fetches

        provider.retire(old)
        clock.advance(300)  # the provider's max-age=300 runs out
        assert await refusal(verifier, provider.token(old)) == "kid"
        assert provider.hits["jwks"] == 3
        await verifier.verify(provider.token(new))

    async def test_an_unknown_kid_that_stays_unknown_is_refused(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        verifier = await started(provider, clock)
        clock.advance(POLICY.min_interval_s)
        forged = provider.token(SigningKey.generate("ES256"), kid="no-such-key")
        assert await refusal(verifier, forged) == "kid"
        assert provider.hits["jwks"] == 2  # one refresh, then the refusal


class TestForgedKidFlood:
    async def test_a_flood_of_forged_kids_costs_one_fetch_per_interval(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        verifier = await started(provider, clock)
        attacker = SigningKey.generate("ES256")
        for round_ in range(1, 4):
            clock.advance(POLICY.min_interval_s)
            tokens = [provider.token(attacker, kid=f"forged-{round_}-{n}") for n in range(200)]
            reasons = await asyncio.gather(*(refusal(verifier, token) for token in tokens))
            assert set(reasons) == {"kid"}
            assert provider.hits["jwks"] == 1 + round_  # 200 concurrent forgeries shared one fetch
        for n in range(50):  # within the interval: none at all
            assert await refusal(verifier, provider.token(attacker, kid=f"late-{n}")) == "kid"
        assert provider.hits["jwks"] == 4

    async def test_a_legitimate_token_still_verifies_during_a_flood(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        verifier = await started(provider, clock)
        attacker = SigningKey.generate("ES256")
        clock.advance(POLICY.min_interval_s)
        forged = [refusal(verifier, provider.token(attacker, kid=f"forged-{n}")) for n in range(100)]
        genuine = verifier.verify(provider.token(provider.keys[0]))
        results = await asyncio.gather(genuine, *forged)
        assert results[0]["sub"] == "officer-1" and set(results[1:]) == {"kid"}


class TestProviderDown:
    async def test_the_last_good_keys_still_verify_and_the_staleness_shows(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        failed_before = failed_fetches()
        verifier = await started(provider, clock)
        keys = verifier.keys
        assert isinstance(keys, ProviderKeys) and keys.staleness_s() == 0
        provider.down = True
        clock.advance(3600)  # long past max-age=300
        for _ in range(3):
            assert (await verifier.verify(provider.token(provider.keys[0])))["sub"] == "officer-1"
        assert keys.fetches == 2  # expired: one try, then the interval holds the others back
        assert keys.staleness_s() == 3600
        assert failed_fetches() == failed_before + 1

        provider.down = False
        clock.advance(POLICY.min_interval_s)
        await verifier.verify(provider.token(provider.keys[0]))
        assert keys.staleness_s() == 0 and provider.hits["jwks"] == 2

    async def test_down_at_start_up_refuses_people_until_it_answers(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        provider.down = True
        verifier = await started(provider, clock)
        token = provider.token(provider.keys[0])
        assert await refusal(verifier, token) == "kid"
        provider.down = False
        clock.advance(POLICY.min_interval_s)
        assert (await verifier.verify(token))["sub"] == "officer-1"


class TestCacheHeaders:
    async def test_max_age_is_honoured(self, provider: Provider, clock: Clock, started: Starter) -> None:
        provider.cache_control = "public, max-age=900"
        verifier = await started(provider, clock)
        clock.advance(899)
        await verifier.verify(provider.token(provider.keys[0]))
        assert provider.hits["jwks"] == 1
        clock.advance(2)
        await verifier.verify(provider.token(provider.keys[0]))
        assert provider.hits["jwks"] == 2

    async def test_no_cache_is_held_to_the_floor(self, provider: Provider, clock: Clock, started: Starter) -> None:
        provider.cache_control = "no-cache"
        verifier = await started(provider, clock)
        clock.advance(POLICY.min_cache_s - 1)
        await verifier.verify(provider.token(provider.keys[0]))
        assert provider.hits["jwks"] == 1
        clock.advance(1)
        await verifier.verify(provider.token(provider.keys[0]))
        assert provider.hits["jwks"] == 2

    NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC).timestamp()

    @pytest.mark.parametrize(
        ("headers", "lifetime"),
        [
            ({"cache-control": "max-age=900"}, 900),
            ({"cache-control": "public, max-age=900", "age": "100"}, 800),
            ({"cache-control": 'max-age="120"'}, 120),
            ({"cache-control": "max-age=999999"}, 3600),  # the ceiling
            ({"cache-control": "max-age=5"}, 60),  # the floor
            ({"cache-control": "no-store, max-age=900"}, 60),
            ({"cache-control": "max-age=nonsense"}, 600),  # the default
            ({}, 600),
            ({"expires": format_datetime(datetime(2026, 12, 6, 12, 20, tzinfo=UTC), usegmt=True)}, 1200),
            ({"expires": format_datetime(datetime(2026, 12, 6, 11, 0, tzinfo=UTC), usegmt=True)}, 60),
            ({"expires": "0"}, 60),
            ({"cache-control": "max-age=300", "expires": "Sat, 01 Jan 2000 00:00:00 GMT"}, 300),
        ],
    )
    def test_lifetime_from_headers(self, headers: dict[str, str], lifetime: float) -> None:
        assert cache_lifetime(headers, POLICY, now=self.NOW) == lifetime


class TestDiscovery:
    async def test_the_jwks_uri_of_the_issuers_document_is_used(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        verifier = await started(provider, clock, discovery=True)
        assert (await verifier.verify(provider.token(provider.keys[0])))["sub"] == "officer-1"
        assert provider.hits == {"discovery": 1, "jwks": 1}
        new = provider.rotate()
        clock.advance(POLICY.min_interval_s)
        await verifier.verify(provider.token(new))
        assert provider.hits == {"discovery": 1, "jwks": 2}  # the document is read once

    async def test_a_document_naming_another_issuer_is_refused(
        self, provider: Provider, clock: Clock, started: Starter
    ) -> None:
        provider.discovery_issuer = "https://attacker.example.org/realms/alpr"
        verifier = await started(provider, clock, discovery=True)
        assert await refusal(verifier, provider.token(provider.keys[0])) == "kid"
        assert provider.hits == {"discovery": 1, "jwks": 0}  # its jwks_uri is never followed
