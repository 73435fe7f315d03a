"""Rate limits shared across gateway replicas: the bucket lives in PostgreSQL, each replica leases from it."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common.errors import RateLimited
from services.gateway.rate_budget import IDLE_PRUNE_S, Lease, SharedBudget, row_key
from services.gateway.ratelimit import DRY_LEASE_EVERY_S, RateLimiter
from tests.conftest import build_apps

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def granted(limiter: RateLimiter, key: str, *, capacity: float) -> int:
    """Take one token; 1 if it was granted, 0 if refused."""
    try:
        await limiter.take("person", key, capacity=capacity, per_second=0.001)
    except RateLimited:
        return 0
    return 1


class TestTwoReplicasShareOneBucket:
    async def test_together_they_grant_one_capacity_where_each_alone_grants_it(self, system) -> None:  # type: ignore[no-untyped-def]
        capacity, key = 40, f"shared-{uuid.uuid4().hex}"
        replicas = [
            RateLimiter(budget=SharedBudget(system.runtime("gateway").engine), lease_fraction=0.1) for _ in range(2)
        ]
        # alternating, as a load balancer spreads one caller; with no refill to speak of (0.001/s)
        total = sum([await granted(replicas[i % 2], key, capacity=capacity) for i in range(4 * capacity)])
        lease = 4  # 10% of 40
        assert capacity <= total <= capacity + 2 * lease
        assert total == capacity  # every leased token was spent, and none was granted twice
        # each replica alone, on its own key, grants a whole capacity: the sharing is what held the two back
        alone = sum([await granted(replicas[0], f"alone-{key}", capacity=capacity) for _ in range(2 * capacity)])
        assert alone == capacity

    async def test_a_lowered_limit_applies_at_once_not_after_the_lease_in_hand(self, system) -> None:  # type: ignore[no-untyped-def]
        limiter = RateLimiter(budget=SharedBudget(system.runtime("gateway").engine), lease_fraction=0.1)
        key = f"lowered-{uuid.uuid4().hex}"
        assert await granted(limiter, key, capacity=100) == 1  # leases 10, spends 1: 9 left in hand
        # an operator lowers the limit to 2: the 9 leased under the old limit do not outlast it
        after = sum([await granted(limiter, key, capacity=2) for _ in range(6)])
        assert after <= 2 + 1

    async def test_a_post_spends_a_leased_token_without_waiting_and_only_a_leased_one(self, system) -> None:  # type: ignore[no-untyped-def]
        # take_leased (the camera posts' way in) grants only what take() leased from the shared bucket
        limiter = RateLimiter(budget=SharedBudget(system.runtime("gateway").engine), lease_fraction=0.1)
        key = f"leased-{uuid.uuid4().hex}"
        assert limiter.take_leased("camera", key, capacity=40) is False  # nothing leased yet
        await limiter.take("camera", key, capacity=40, per_second=0.001)  # leases 4, spends 1
        assert [limiter.take_leased("camera", key, capacity=40) for _ in range(4)] == [True, True, True, False]
        await limiter.take("camera", key, capacity=40, per_second=0.001)  # leases anew from the shared bucket
        # a lowered limit clamps the lease in hand, as take() does
        assert [limiter.take_leased("camera", key, capacity=10) for _ in range(3)] == [True, False, False]
        assert RateLimiter().take_leased("camera", key, capacity=40) is False  # no store: take() decides

    async def test_a_refusal_from_the_shared_bucket_says_when_to_retry(self, system) -> None:  # type: ignore[no-untyped-def]
        limiter = RateLimiter(budget=SharedBudget(system.runtime("gateway").engine), lease_fraction=0.5)
        key = f"retry-{uuid.uuid4().hex}"
        for _ in range(2):
            await limiter.take("camera", key, capacity=2, per_second=0.25)
        with pytest.raises(RateLimited) as refused:
            await limiter.take("camera", key, capacity=2, per_second=0.25)
        assert refused.value.details["limit"] == "camera"
        assert refused.value.details["headers"]["Retry-After"] in (3, 4)

    async def test_forget_refills_the_shared_bucket_at_the_next_lease(self, system) -> None:  # type: ignore[no-untyped-def]
        first, second = (
            RateLimiter(budget=SharedBudget(system.runtime("gateway").engine), lease_fraction=0.5) for _ in range(2)
        )
        key = f"forget-{uuid.uuid4().hex}"
        for _ in range(2):
            await first.take("address", key, capacity=2, per_second=0.001)
        with pytest.raises(RateLimited):
            await second.take("address", key, capacity=2, per_second=0.001)
        second.forget("address", key)
        await second.take("address", key, capacity=2, per_second=0.001)

    async def test_idle_rows_are_pruned(self, system) -> None:  # type: ignore[no-untyped-def]
        uow = system.runtime("gateway").uow
        budget, key = SharedBudget(system.runtime("gateway").engine), f"idle-{uuid.uuid4().hex}"
        await budget.lease("person", key, want=1, capacity=5, per_second=1)
        async with uow() as session:
            stored = (await session.execute(text("SELECT key FROM rate_buckets WHERE key = :k"), {"k": key})).all()
            assert stored == []  # the caller's key is not kept in the clear
            key = row_key(key)
            await session.execute(
                text("UPDATE rate_buckets SET updated_at = updated_at - make_interval(secs => :s) WHERE key = :k"),
                {"s": float(IDLE_PRUNE_S + 1), "k": key},
            )
        assert await budget.prune() >= 1
        async with uow() as session:
            left = (await session.execute(text("SELECT count(*) FROM rate_buckets WHERE key = :k"), {"k": key})).one()
        assert left[0] == 0


class CountedBudget(SharedBudget):
    """The shared budget, counting the leases that reached the store."""

    leases = 0

    async def lease(self, *args, **kwargs) -> Lease:  # type: ignore[no-untyped-def]
        self.leases += 1
        return await super().lease(*args, **kwargs)


class TestACallerAtItsLimit:
    async def test_a_dry_bucket_is_leased_from_at_most_once_a_period_and_grants_no_more(self, system) -> None:  # type: ignore[no-untyped-def]
        budget = CountedBudget(system.runtime("gateway").engine)
        replicas = [RateLimiter(budget=budget, lease_fraction=0.5) for _ in range(2)]
        key, capacity, rate = f"hot-{uuid.uuid4().hex}", 100, 2000.0  # a lease of 50; 10 refill in a period
        granted = 0

        async def camera(limiter: RateLimiter) -> None:
            nonlocal granted
            while time.monotonic() < until:
                try:
                    await limiter.take("camera", key, capacity=capacity, per_second=rate)
                    granted += 1
                except RateLimited:
                    await asyncio.sleep(0)

        # 16 callers on two replicas, far beyond 2,000 a second for 0.3 s: the shared bucket is dry throughout
        started = time.monotonic()
        until = started + 0.3
        await asyncio.gather(*(camera(replicas[i % 2]) for i in range(16)))
        took = time.monotonic() - started
        # the limit holds: the burst, the refill, and what each replica may hold from its last lease
        assert granted <= capacity + rate * took + 2 * 50
        # each replica leased about once a period (a round trip was one lease per token or two before)
        periods = took / DRY_LEASE_EVERY_S
        assert budget.leases <= 2 * (periods + 2), (budget.leases, periods, granted)
        assert granted >= budget.leases  # every lease brought tokens

    async def test_a_refusal_the_refill_cannot_end_yet_costs_no_round_trip(self, system) -> None:  # type: ignore[no-untyped-def]
        budget = CountedBudget(system.runtime("gateway").engine)
        limiter = RateLimiter(budget=budget, lease_fraction=0.5)
        key = f"slow-{uuid.uuid4().hex}"
        for _ in range(2):
            await limiter.take("camera", key, capacity=2, per_second=0.25)
        with pytest.raises(RateLimited):
            await limiter.take("camera", key, capacity=2, per_second=0.25)
        asked = budget.leases
        for _ in range(5):
            with pytest.raises(RateLimited) as refused:
                await limiter.take("camera", key, capacity=2, per_second=0.25)
            assert refused.value.details["headers"]["Retry-After"] in (3, 4)
        assert budget.leases == asked  # the store said dry; four seconds to a token: nothing to ask it
        limiter.forget("camera", key)  # a reset still reaches the store at once
        await limiter.take("camera", key, capacity=2, per_second=0.25)
        assert budget.leases == asked + 1


class TestWhenTheStoreIsDown:
    async def test_each_replica_falls_back_to_its_share_of_the_rate_and_logs_it(self, caplog) -> None:  # type: ignore[no-untyped-def]
        engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
        try:
            limiter = RateLimiter(budget=SharedBudget(engine), replicas=2)
            with caplog.at_level(logging.WARNING, logger="services.gateway.ratelimit"):
                results = [await granted(limiter, "down", capacity=10) for _ in range(8)]
            assert results == [1] * 5 + [0] * 3  # half the burst of 10: two replicas share the limit
            assert sum("shared store unreachable" in r.getMessage() for r in caplog.records) == 1
        finally:
            await engine.dispose()


class TestTwoGatewayApps:
    async def test_a_public_limit_holds_across_two_running_gateways(self, system) -> None:  # type: ignore[no-untyped-def]
        second_app = build_apps(system.stack, ("gateway",))["gateway"]
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(second_app.router.lifespan_context(second_app))
            first_app = system.apps["gateway"]
            address = f"198.51.100.{uuid.uuid4().int % 200 + 20}"
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5)), base_url="http://g")
                )
                for app in (first_app, second_app)
            ]
            settings = [app.state.runtime.settings for app in (first_app, second_app)]
            saved = [s.rate_public_per_minute for s in settings]
            for s in settings:
                s.rate_public_per_minute = 6
            try:
                statuses = [(await clients[i % 2].get("/public/policy")).status_code for i in range(12)]
            finally:
                for s, rate in zip(settings, saved, strict=True):
                    s.rate_public_per_minute = rate
        # six in a minute for this address, whichever replica answers; each alone would have allowed six
        assert statuses.count(200) == 6 and statuses.count(429) == 6
        assert statuses[:6] == [200] * 6
