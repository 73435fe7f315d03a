"""Camera credentials as camera posts need them: kept briefly in each replica, looked up once at a time.

Every camera post needs its camera's registry row. Reading it from PostgreSQL on each post cost a
round trip per read, and when a plain TTL expired under load every post in flight missed at once,
each taking a pooled connection (opening new ones past the pool) for the same row. Here a miss is
looked up once; posts that arrive meanwhile wait for that one lookup.

How soon a change applies: an admin change made through this replica (disable, enable, rotate)
forgets the cache at once; one made through another replica, or straight in the database, applies
here within `ttl_s` plus one lookup.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from services.gateway.models import Camera

Lookup = Callable[[], Awaitable[Camera | None]]


class CameraCredentialCache:
    """Credential id → camera, each entry kept `ttl_s`; concurrent misses share one lookup."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, Camera]] = {}
        self._lookups: dict[str, asyncio.Future[Camera | None]] = {}
        # bumped by forget(): a lookup begun before a change must not put its stale row back
        self._generation = 0

    def fresh(self, credential_id: str) -> Camera | None:
        """The cached camera holding this credential id while its entry lasts; None when `get` must look."""
        entry = self._entries.get(credential_id)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        return None

    async def get(self, credential_id: str, lookup: Lookup) -> Camera | None:
        """The camera holding this credential id, or None when no camera does (never cached)."""
        cached = self.fresh(credential_id)
        if cached is not None:
            return cached
        pending = self._lookups.get(credential_id)
        if pending is None:
            pending = asyncio.ensure_future(self._look_up(credential_id, lookup, self._generation))
            pending.add_done_callback(_retrieve)
            self._lookups[credential_id] = pending
        # shielded: a waiter that is cancelled (its client went away) must not cancel the others' lookup
        return await asyncio.shield(pending)

    def forget(self) -> None:
        """Drop every entry and disown lookups in flight; the next post reads the registry."""
        self._generation += 1
        self._entries.clear()
        self._lookups.clear()

    async def _look_up(self, credential_id: str, lookup: Lookup, generation: int) -> Camera | None:
        try:
            camera = await lookup()
        finally:
            if self._generation == generation:
                self._lookups.pop(credential_id, None)
        if camera is not None and self._generation == generation:
            self._entries[credential_id] = (self._clock() + self.ttl_s, camera)
        return camera


def _retrieve(lookup: asyncio.Future[Camera | None]) -> None:
    # a failed lookup whose waiters were all cancelled is not logged as never retrieved
    if not lookup.cancelled():
        lookup.exception()
