"""The recorded client address and the public rate key: X-Forwarded-For counts only from a trusted proxy."""

from __future__ import annotations

import httpx
import pytest

from tests.services.gateway.test_first_path import PURPOSE, unique_plate, window
from tests.utils.registry_people import audit_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")
SPOOFED = "198.51.100.66"


@pytest.fixture
def trusting_the_test_peer(system):  # type: ignore[no-untyped-def]
    """The gateway as deployed behind an ingress whose address is the test client's."""
    settings = system.runtime("gateway").settings
    saved = settings.trusted_proxies
    settings.trusted_proxies = "203.0.113.0/28"
    yield
    settings.trusted_proxies = saved


async def searched_from(system, headers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """Search, then the client address its access record holds."""
    body = {"query": {"plate": unique_plate(), **window()}, "purpose": PURPOSE}
    response = await system.gateway.post("/v1/searches", json=body, headers={**system.token("officer"), **headers})
    assert response.status_code == 200, response.text
    (row,) = await audit_rows(system, "event_id = $1", response.json()["search_id"])
    return str(row["payload"]["client_address"])


class TestRecordedAddress:
    async def test_a_forwarded_for_from_an_untrusted_peer_is_not_recorded(self, system) -> None:
        assert await searched_from(system, {"X-Forwarded-For": SPOOFED}) == "203.0.113.7"

    async def test_from_a_trusted_proxy_the_forwarded_client_is_recorded(self, system, trusting_the_test_peer) -> None:
        # the caller's own claim (first) is not believed; the hop the ingress appended is
        assert await searched_from(system, {"X-Forwarded-For": f"192.0.2.1, {SPOOFED}"}) == SPOOFED

    async def test_camera_posts_see_the_same_address(self, system) -> None:
        """The camera posts' sub-application takes its address from the same decision (secret throttling keys on it)."""
        transport = httpx.ASGITransport(app=system.apps["gateway"], client=("192.0.2.200", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as other:
            refused = await other.post(
                "/v1/reads", json={}, headers={"Authorization": "Bearer nobody.wrong", "X-Forwarded-For": SPOOFED}
            )
        assert refused.status_code == 401
        counts = system.runtime("gateway").secret_failures._failures
        assert ("camera", "address", "192.0.2.200") in counts and ("camera", "address", SPOOFED) not in counts


class TestPublicRateKey:
    async def test_a_new_forwarded_for_on_each_request_does_not_buy_a_new_bucket(self, system) -> None:
        settings = system.runtime("gateway").settings
        saved, settings.rate_public_per_minute = settings.rate_public_per_minute, 2
        try:
            answers = [
                await system.gateway.get("/public/policy", headers={"X-Forwarded-For": f"198.51.100.{i}"})
                for i in range(4)
            ]
        finally:
            settings.rate_public_per_minute = saved
            system.runtime("gateway").limits.limiter.forget("address", "203.0.113.7")
        assert [a.status_code for a in answers][-1] == 429
        assert "Retry-After" in answers[-1].headers
