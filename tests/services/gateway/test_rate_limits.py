"""Rate limits per person, camera, partner and public address: 429 with Retry-After, buckets refill."""

from __future__ import annotations

import pytest

from libs.common.errors import RateLimited
from services.gateway.ratelimit import RateLimiter
from tests.utils.registry_people import bearer, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_bucket_allows_its_burst_then_refuses_then_refills() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock)
    for _ in range(3):
        await limiter.take("person", "a", capacity=3, per_second=0.5)
    with pytest.raises(RateLimited) as refused:
        await limiter.take("person", "a", capacity=3, per_second=0.5)
    assert refused.value.details["retry_after_s"] == 2
    assert refused.value.details["headers"] == {"Retry-After": 2}
    await limiter.take("person", "b", capacity=3, per_second=0.5)  # another key has its own bucket
    clock.now += 2.0
    await limiter.take("person", "a", capacity=3, per_second=0.5)
    with pytest.raises(RateLimited):
        await limiter.take("person", "a", capacity=3, per_second=0.5)


@pytest.fixture
def low_rates(system):  # type: ignore[no-untyped-def]
    settings = system.runtime("gateway").settings
    saved = (settings.rate_person_per_minute, settings.rate_camera_per_second, settings.rate_public_per_minute)
    settings.rate_person_per_minute, settings.rate_camera_per_second, settings.rate_public_per_minute = 3, 2, 2
    limits = system.runtime("gateway").limits
    yield limits
    settings.rate_person_per_minute, settings.rate_camera_per_second, settings.rate_public_per_minute = saved
    if limits is not None:
        limits.limiter.forget("camera", "dev-cam-1")
        limits.limiter.forget("address", "203.0.113.7")


async def test_a_person_over_the_rate_gets_429_with_retry_after(system, low_rates) -> None:  # type: ignore[no-untyped-def]
    sub = await put_person(system, new_sub("rate"), ["officer"])
    statuses = [(await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["details"]["limit"] == "person"
    assert int(refused.headers["retry-after"]) >= 1
    # someone else is not held back by that person's bucket
    other = await put_person(system, new_sub("rate"), ["officer"])
    assert (await system.gateway.get("/v1/approvals", headers=bearer(system, other))).status_code == 200


async def test_a_camera_over_the_rate_gets_429(system, low_rates) -> None:  # type: ignore[no-untyped-def]
    system.runtime("gateway").limits.limiter.forget("camera", "dev-cam-1")
    body = {"plate": "7RATE01", "captured_at": "2026-11-28T10:00:00Z"}
    statuses = [
        (await system.gateway.post("/v1/reads", json=body, headers=system.camera)).status_code for _ in range(3)
    ]
    assert statuses[:2] == [202, 202] and statuses[2] == 429


async def test_the_public_pages_are_limited_per_address(system, low_rates) -> None:  # type: ignore[no-untyped-def]
    system.runtime("gateway").limits.limiter.forget("address", "203.0.113.7")
    statuses = [(await system.gateway.get("/public/policy")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_partner_buckets_are_per_client(system) -> None:  # type: ignore[no-untyped-def]
    from services.gateway.ratelimit import GatewayLimits

    settings = system.runtime("gateway").settings.model_copy(update={"rate_partner_per_minute": 2})
    limits = GatewayLimits(settings)
    await limits.partner("client-a")
    await limits.partner("client-a")
    with pytest.raises(RateLimited):
        await limits.partner("client-a")
    await limits.partner("client-b")
