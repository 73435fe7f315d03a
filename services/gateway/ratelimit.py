"""Token buckets per person, camera, partner and public address, refused with 429 and Retry-After.

The buckets live in memory in each gateway replica, so with N replicas behind the load balancer a
caller may get up to N times the configured rate. That is accepted: the limits stop runaway scripts
and bulk scraping, not a determined attacker, who is stopped by authentication and the audit log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from libs.common.errors import RateLimited
from services.gateway.settings import GatewaySettings

MAX_BUCKETS = 100_000  # beyond this, full (idle) buckets are dropped so memory stays bounded


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One bucket per (kind, key); `capacity` is the burst, `per_second` the sustained rate."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._clock = clock

    def take(self, kind: str, key: str, *, capacity: float, per_second: float) -> None:
        """Spend one token or raise RateLimited with the seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.get((kind, key))
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_idle(now)
            bucket = self._buckets[(kind, key)] = Bucket(tokens=capacity, updated=now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / per_second))
        raise RateLimited(
            f"too many requests for this {kind}; retry after {retry_after} s",
            code="rate_limited",
            limit=kind,
            retry_after_s=retry_after,
            headers={"Retry-After": retry_after},
        )

    def forget(self, kind: str, key: str) -> None:
        self._buckets.pop((kind, key), None)

    def _forget_idle(self, now: float) -> None:
        # a bucket idle for a minute has refilled at any configured rate; dropping it changes nothing
        for k in [k for k, b in self._buckets.items() if now - b.updated > 60]:
            del self._buckets[k]


class GatewayLimits:
    """The configured rates, read at each call so an operator's change applies to new buckets at once."""

    def __init__(self, settings: GatewaySettings, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or RateLimiter()

    def person(self, sub: str) -> None:
        rate = self.settings.rate_person_per_minute
        self.limiter.take("person", sub, capacity=rate, per_second=rate / 60)

    def camera(self, camera_id: str) -> None:
        rate = self.settings.rate_camera_per_second
        self.limiter.take("camera", camera_id, capacity=rate, per_second=rate)

    def partner(self, client_id: str) -> None:
        """For the partner routes: one bucket per OAuth client (one partner agency's agreement)."""
        rate = self.settings.rate_partner_per_minute
        self.limiter.take("partner", client_id, capacity=rate, per_second=rate / 60)

    def public(self, address: str) -> None:
        rate = self.settings.rate_public_per_minute
        self.limiter.take("address", address, capacity=rate, per_second=rate / 60)
