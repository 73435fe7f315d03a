"""The camera credential cache: entries expire, concurrent misses share one lookup, a change is never undone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.gateway.credentials import CameraCredentialCache
from services.gateway.models import Camera
from tests.services.gateway.test_camera_registry import register
from tests.services.gateway.test_rate_limits import FakeClock

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Registry:
    """Stands in for the registry table: counts lookups, and can hold them until released."""

    def __init__(self, camera: Camera | None) -> None:
        self.camera = camera
        self.lookups = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def lookup(self) -> Camera | None:
        self.lookups += 1
        seen = self.camera
        await self.gate.wait()
        return seen


def camera(enabled: bool = True) -> Camera:
    return Camera(camera_id="cam-1", agency="A", vendor="axis", credential_id="c1", enabled=enabled)


class TestCameraCredentialCache:
    async def test_an_entry_is_reused_until_its_lifetime_ends(self) -> None:
        clock, registry = FakeClock(), Registry(camera())
        cache = CameraCredentialCache(5.0, clock)
        assert await cache.get("c1", registry.lookup) is registry.camera
        clock.now += 4.9
        await cache.get("c1", registry.lookup)
        assert registry.lookups == 1
        registry.camera = camera(enabled=False)
        clock.now += 0.2
        refreshed = await cache.get("c1", registry.lookup)
        assert registry.lookups == 2 and refreshed is not None and refreshed.enabled is False

    async def test_fresh_gives_a_cached_camera_only_while_its_entry_lasts(self) -> None:
        # the camera posts take a cached camera through fresh() and look up through get() only when it is None
        clock, registry = FakeClock(), Registry(camera())
        cache = CameraCredentialCache(5.0, clock)
        assert cache.fresh("c1") is None
        await cache.get("c1", registry.lookup)
        assert cache.fresh("c1") is registry.camera and cache.fresh("c2") is None
        clock.now += 5.1
        assert cache.fresh("c1") is None
        await cache.get("c1", registry.lookup)
        cache.forget()
        assert cache.fresh("c1") is None and registry.lookups == 2

    async def test_concurrent_misses_share_one_lookup(self) -> None:
        registry = Registry(camera())
        registry.gate.clear()
        cache = CameraCredentialCache(5.0, FakeClock())
        waiting = [asyncio.create_task(cache.get("c1", registry.lookup)) for _ in range(50)]
        await asyncio.sleep(0)
        registry.gate.set()
        assert all(c is registry.camera for c in await asyncio.gather(*waiting))
        assert registry.lookups == 1

    async def test_an_unknown_credential_is_not_cached(self) -> None:
        registry = Registry(None)
        cache = CameraCredentialCache(5.0, FakeClock())
        assert await cache.get("nope", registry.lookup) is None
        assert await cache.get("nope", registry.lookup) is None
        assert registry.lookups == 2

    async def test_a_lookup_begun_before_forget_does_not_put_its_row_back(self) -> None:
        registry = Registry(camera(enabled=True))
        registry.gate.clear()
        cache = CameraCredentialCache(5.0, FakeClock())
        early = asyncio.create_task(cache.get("c1", registry.lookup))
        while registry.lookups == 0:
            await asyncio.sleep(0)
        cache.forget()  # an admin disabled the camera while the lookup was in flight
        registry.camera = camera(enabled=False)
        registry.gate.set()
        await early
        after = await cache.get("c1", registry.lookup)
        assert after is not None and after.enabled is False
        assert registry.lookups == 2

    async def test_a_failed_lookup_fails_its_waiters_and_is_not_cached(self) -> None:
        cache = CameraCredentialCache(5.0, FakeClock())

        async def broken() -> Camera | None:
            raise OSError("database unreachable")

        with pytest.raises(OSError):
            await cache.get("c1", broken)
        registry = Registry(camera())
        assert await cache.get("c1", registry.lookup) is registry.camera


def read() -> dict:
    return {"plate": "4CCH" + uuid.uuid4().hex[:3].upper(), "captured_at": datetime.now(UTC).isoformat()}


async def test_a_camera_disabled_elsewhere_is_refused_within_the_cache_lifetime(system) -> None:  # type: ignore[no-untyped-def]
    """A disable made by another replica (here: in the database) applies once this replica's entry expires."""
    camera_id, credential = await register(system)
    headers = {"Authorization": f"Bearer {credential}"}
    assert (await system.gateway.post("/v1/reads", json=read(), headers=headers)).status_code == 202
    cache = system.runtime("gateway").camera_credentials
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        await conn.execute("UPDATE gateway.cameras SET enabled = false WHERE camera_id = $1", camera_id)
    finally:
        await conn.close()
    await asyncio.sleep(cache.ttl_s + 0.1)
    refused = await system.gateway.post("/v1/reads", json=read(), headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "camera_disabled"
