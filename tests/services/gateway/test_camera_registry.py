"""Admins register cameras and issue credentials; unknown and disabled cameras are refused and counted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def read() -> dict:
    return {"plate": "3CAM" + uuid.uuid4().hex[:3].upper(), "captured_at": datetime.now(UTC).isoformat()}


async def register(system) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    camera_id = f"cam-{uuid.uuid4().hex[:8]}"
    response = await system.gateway.post(
        "/v1/admin/cameras",
        json={"camera_id": camera_id, "vendor": "openalpr", "name": "Test"},
        headers=system.token("admin"),
    )
    assert response.status_code == 201, response.text
    return camera_id, response.json()["credential"]


class TestCameraRegistry:
    async def test_registered_camera_posts_with_its_credential_and_only_a_hash_is_stored(self, system) -> None:
        camera_id, credential = await register(system)
        response = await system.gateway.post(
            "/v1/reads", json=read(), headers={"Authorization": f"Bearer {credential}"}
        )
        assert response.status_code == 202
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            row = await conn.fetchrow("SELECT * FROM gateway.cameras WHERE camera_id = $1", camera_id)
            audited = await conn.fetchval(
                "SELECT count(*) FROM audit.access_records WHERE event_type = 'admin_change' "
                "AND payload::jsonb -> 'query' ->> 'camera_id' = $1",
                camera_id,
            )
        finally:
            await conn.close()
        assert credential.split(".", 1)[1] not in str(dict(row))
        assert audited == 1

    async def test_only_admins_register_cameras(self, system) -> None:
        response = await system.gateway.post(
            "/v1/admin/cameras", json={"camera_id": "x-1", "vendor": "axis"}, headers=system.token("officer")
        )
        assert response.status_code == 403

    async def test_unknown_credential_is_refused(self, system) -> None:
        response = await system.gateway.post(
            "/v1/reads", json=read(), headers={"Authorization": "Bearer 0123456789abcdef.nope"}
        )
        assert response.status_code == 401

    async def test_disabled_camera_is_refused_and_counted(self, system) -> None:
        camera_id, credential = await register(system)
        disabled = await system.gateway.put(
            f"/v1/admin/cameras/{camera_id}/enabled", json={"enabled": False}, headers=system.token("admin")
        )
        assert disabled.status_code == 200 and disabled.json()["enabled"] is False
        response = await system.gateway.post(
            "/v1/reads", json=read(), headers={"Authorization": f"Bearer {credential}"}
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "camera_disabled"
        cameras = await system.gateway.get("/v1/admin/cameras", headers=system.token("admin"))
        mine = next(c for c in cameras.json() if c["camera_id"] == camera_id)
        assert mine["refused_count"] == 1

    async def test_rotated_credential_replaces_the_old_one_at_once(self, system) -> None:
        camera_id, old = await register(system)
        rotated = await system.gateway.post(f"/v1/admin/cameras/{camera_id}/credentials", headers=system.token("admin"))
        new = rotated.json()["credential"]
        assert (
            await system.gateway.post("/v1/reads", json=read(), headers={"Authorization": f"Bearer {old}"})
        ).status_code == 401
        assert (
            await system.gateway.post("/v1/reads", json=read(), headers={"Authorization": f"Bearer {new}"})
        ).status_code == 202

    async def test_a_camera_never_heard_from_is_flagged_silent(self, system) -> None:
        camera_id, _ = await register(system)
        cameras = await system.gateway.get("/v1/admin/cameras", headers=system.token("admin"))
        assert next(c for c in cameras.json() if c["camera_id"] == camera_id)["silent"] is True
