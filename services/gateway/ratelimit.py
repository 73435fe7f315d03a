"""Token buckets per person, camera, partner and public address, refused with 429 and Retry-After.

Two tiers, so the limits hold across gateway replicas and a request rarely pays a round trip: the bucket of
record is a row of gateway.rate_buckets (rate_budget.py), and each replica leases whole tokens from it a few
at a time (`rate_lease_fraction` of the capacity, at least one) and spends them from memory. Only the request
that finds its replica's lease empty goes to the database, and while a key's shared bucket is dry (its caller
at the limit) at most once every DRY_LEASE_EVERY_S, the requests meanwhile waiting; one the refill cannot yet
have brought a token for is refused without asking (the store would refuse it too). Bound: over any window
of T seconds, R replicas together grant at most capacity + rate x T + R x lease for one key (the shared
bucket's tokens, its refill, and what each replica holds unspent from an earlier lease), against capacity +
rate x T for one bucket; at the default 10% lease and two replicas that is 20% of one burst, once.

If the database cannot be reached, each replica falls back to a bucket of its own at 1/`rate_expected_replicas`
of the rate and logs it (once a minute): the limits stop runaway scripts and bulk scraping, and are a safety
valve rather than a gate; authentication and the audit record are what fail closed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from libs.common.errors import RateLimited
from services.gateway.rate_budget import STORE_ERRORS, SharedBudget
from services.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

MAX_BUCKETS = 100_000  # beyond this, idle buckets are dropped so memory stays bounded
LEASE_TIMEOUT_S = 1.0  # a lease slower than this counts as the store being down
PRUNE_EVERY_S = 60.0
# while a key's shared bucket is dry (a caller at its limit), a replica leases for it at most this often, the
# requests between waiting: each lease then brings what refilled meanwhile, not the one token of a round trip
# (at 2,000 a second and a 1 ms upsert, a dry camera bucket cost about one upsert a request). 20 ms, not 5: a
# camera flooding past its limit cost each replica 200 upserts a second, and at 2,000 posts/s from one camera
# held at its limit the system's CPU a post was 442-453 us against 390-393 (bench/ingest.py --seconds 20,
# 2026-12-07), p99 alike (76-90 against 79-80 ms); a caller at its limit waits up to this long for a token
DRY_LEASE_EVERY_S = 0.02
FALLBACK_LOG_EVERY_S = 60.0


@dataclass
class Bucket:
    tokens: float
    updated: float
    refill: asyncio.Lock = field(default_factory=asyncio.Lock)  # one lease in flight per key and replica
    # a lease's bucket only: when the last lease found the shared bucket short, and what it left there (None
    # after a full lease); the shared bucket holds at most left + its refill since, whatever other replicas do
    dry_at: float | None = None
    dry_left: float = 0.0


def refused(kind: str, tokens: float, per_second: float) -> RateLimited:
    """The 429 for a bucket holding `tokens`, with the whole seconds until it holds one."""
    retry_after = max(1, math.ceil((1.0 - tokens) / per_second))
    return RateLimited(
        f"too many requests for this {kind}; retry after {retry_after} s",
        code="rate_limited",
        limit=kind,
        retry_after_s=retry_after,
        headers={"Retry-After": retry_after},
    )


class LocalBuckets:
    """Buckets in this process only: one per (kind, key); `capacity` is the burst, `per_second` the rate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.clock = clock

    def bucket(self, kind: str, key: str, *, initial: float) -> Bucket:
        """The (kind, key) bucket, made with `initial` tokens when new."""
        now = self.clock()
        bucket = self.buckets.get((kind, key))
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._forget_idle(now)
            bucket = self.buckets[(kind, key)] = Bucket(tokens=initial, updated=now)
        return bucket

    def take(self, kind: str, key: str, *, capacity: float, per_second: float) -> None:
        """Spend one token or raise RateLimited with the seconds until one is available."""
        bucket = self.bucket(kind, key, initial=capacity)
        now = self.clock()
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * per_second)
        bucket.updated = now
        if bucket.tokens < 1.0:
            raise refused(kind, bucket.tokens, per_second)
        bucket.tokens -= 1.0

    def _forget_idle(self, now: float) -> None:
        # a bucket idle for a minute has refilled at any configured rate (a lease left in it is merely lost)
        for k in [k for k, b in self.buckets.items() if now - b.updated > 60 and not b.refill.locked()]:
            del self.buckets[k]


class RateLimiter:
    """Takes a token per request: from this replica's lease of the shared bucket, or locally without a store."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        budget: SharedBudget | None = None,
        lease_fraction: float = 0.1,
        replicas: int = 1,
    ) -> None:
        self._clock = clock
        self._budget = budget
        self._lease_fraction = lease_fraction
        self._replicas = max(1, replicas)
        self._leases = LocalBuckets(clock)  # tokens leased from the store and not yet spent
        self._local = LocalBuckets(clock)  # without a store, or while it is down
        self._reset: set[tuple[str, str]] = set()
        self._pruned = clock()
        self._fallback_logged = -math.inf

    async def take(self, kind: str, key: str, *, capacity: float, per_second: float) -> None:
        """Spend one token or raise RateLimited with the seconds until one is available."""
        if self._budget is None:
            self._local.take(kind, key, capacity=capacity, per_second=per_second)
            return
        if self.take_leased(kind, key, capacity=capacity):
            return
        lease = self._leases.bucket(kind, key, initial=0.0)
        async with lease.refill:
            if lease.tokens < 1.0:  # another request of this replica may have refilled it meanwhile
                await self._refill(lease, kind, key, capacity=capacity, per_second=per_second)
        lease.tokens -= 1.0
        lease.updated = self._clock()

    def take_leased(self, kind: str, key: str, *, capacity: float) -> bool:
        """Spend a token this replica already holds on lease, without a coroutine; False when it holds none,
        and `take` must then lease (or refuse, or use the local bucket). Nearly every camera post is the former."""
        if self._budget is None:
            return False
        lease = self._leases.buckets.get((kind, key))
        if lease is None:
            return False
        # a lease in hand never holds more than one lease of the limit as it stands now: a lowered limit
        # (an operator's change) applies at once, not after tokens leased under the old one are spent
        lease.tokens = min(lease.tokens, float(self._lease_size(capacity)))
        if lease.tokens < 1.0:
            return False
        lease.tokens -= 1.0
        lease.updated = self._clock()
        return True

    async def _refill(self, lease: Bucket, kind: str, key: str, *, capacity: float, per_second: float) -> None:
        assert self._budget is not None
        want = self._lease_size(capacity)
        if lease.dry_at is not None:
            now = self._clock()
            most = lease.dry_left + (now - lease.dry_at) * per_second  # what the shared bucket may hold now
            if most < 1.0 and (1.0 - most) / per_second > DRY_LEASE_EVERY_S:
                # no replica can be granted a token before then: refused as the store would, without asking it
                raise refused(kind, most, per_second)
            if (wait := lease.dry_at + DRY_LEASE_EVERY_S - now) > 0:
                await asyncio.sleep(wait)
        try:
            granted = await asyncio.wait_for(
                self._budget.lease(
                    kind, key, want=want, capacity=capacity, per_second=per_second, reset=(kind, key) in self._reset
                ),
                LEASE_TIMEOUT_S,
            )
        except (*STORE_ERRORS, TimeoutError) as err:
            self._log_fallback(err)
            share = self._replicas
            self._local.take(kind, key, capacity=max(1.0, capacity / share), per_second=per_second / share)
            lease.tokens += 1.0  # the local bucket granted this one; take() spends it
            return
        self._reset.discard((kind, key))
        lease.dry_at, lease.dry_left = (self._clock(), granted.left) if granted.granted < want else (None, 0.0)
        if granted.granted < 1:
            raise refused(kind, granted.left, per_second)
        lease.tokens += granted.granted
        await self._prune_now_and_then()

    async def _prune_now_and_then(self) -> None:
        assert self._budget is not None
        now = self._clock()
        if now - self._pruned < PRUNE_EVERY_S:
            return
        self._pruned = now
        try:
            await self._budget.prune()
        except STORE_ERRORS as err:
            log.warning("rate buckets: pruning idle rows failed: %s", err)

    def _lease_size(self, capacity: float) -> int:
        return max(1, math.ceil(capacity * self._lease_fraction))

    def _log_fallback(self, err: BaseException) -> None:
        now = self._clock()
        if now - self._fallback_logged >= FALLBACK_LOG_EVERY_S:
            self._fallback_logged = now
            log.warning(
                "rate buckets: shared store unreachable (%s); limiting per replica at 1/%d of the rate",
                type(err).__name__,
                self._replicas,
            )

    def forget(self, kind: str, key: str) -> None:
        """Start (kind, key) afresh: this replica's lease and local bucket now, the shared one at its next lease."""
        self._leases.buckets.pop((kind, key), None)
        self._local.buckets.pop((kind, key), None)
        if self._budget is not None:
            self._reset.add((kind, key))


class GatewayLimits:
    """The configured rates, read at each call so an operator's change applies to new buckets at once."""

    def __init__(
        self, settings: GatewaySettings, limiter: RateLimiter | None = None, *, budget: SharedBudget | None = None
    ) -> None:
        self.settings = settings
        self.limiter = limiter or RateLimiter(
            budget=budget, lease_fraction=settings.rate_lease_fraction, replicas=settings.rate_expected_replicas
        )

    async def person(self, sub: str) -> None:
        rate = self.settings.rate_person_per_minute
        await self.limiter.take("person", sub, capacity=rate, per_second=rate / 60)

    async def camera(self, camera_id: str) -> None:
        rate = self.settings.rate_camera_per_second
        await self.limiter.take("camera", camera_id, capacity=rate, per_second=rate)

    def camera_leased(self, camera_id: str) -> bool:
        """A camera post's token from this replica's lease when it holds one (see RateLimiter.take_leased);
        False: `camera` must be awaited."""
        return self.limiter.take_leased("camera", camera_id, capacity=self.settings.rate_camera_per_second)

    async def partner(self, client_id: str) -> None:
        """For the partner routes: one bucket per OAuth client (one partner agency's agreement)."""
        rate = self.settings.rate_partner_per_minute
        await self.limiter.take("partner", client_id, capacity=rate, per_second=rate / 60)

    async def public(self, address: str) -> None:
        rate = self.settings.rate_public_per_minute
        await self.limiter.take("address", address, capacity=rate, per_second=rate / 60)
