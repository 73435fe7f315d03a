"""A gateway started on ALPR_OIDC_JWKS_URL: its lifespan fetches the provider's keys, a person's token signed with
a key the provider rotated in passes verification (and meets the registry), a forged key id is a 401."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from libs.common.oauth.keys import SigningKey
from services.gateway.app import create_app
from services.gateway.identity_keys import ProviderKeys
from tests.utils.identity_provider import Provider, serving

pytestmark = pytest.mark.asyncio(loop_scope="session")
INTERVAL_S = 0.5


@pytest.fixture
def provider() -> Iterator[Provider]:
    with serving(Provider(keys=[SigningKey.generate("ES256")])) as running:
        yield running


@pytest.fixture
async def gateway(system, provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    settings = system.runtime("gateway").settings.model_copy(
        update={
            "oidc_jwks_path": None,
            "oidc_jwks_url": provider.jwks_url,
            "oidc_issuer": provider.issuer,
            "oidc_jwks_refresh_interval_s": INTERVAL_S,
        }
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestGatewayOnTheProvidersKeys:
    async def test_a_rotated_key_verifies_and_a_forged_kid_is_refused(
        self, gateway: httpx.AsyncClient, provider: Provider
    ) -> None:
        assert provider.hits["jwks"] == 1  # fetched by the lifespan, before the first request
        verified = await gateway.get("/v1/admin/persons", headers=bearer(provider.token(provider.keys[0])))
        # the signature held: the registry answers (this provider's people are nobody the gateway knows)
        assert verified.status_code == 403 and verified.json()["error"]["code"] == "not_eligible"

        new = provider.rotate()
        await asyncio.sleep(INTERVAL_S)  # the refresh interval since the start-up fetch
        rotated = await gateway.get("/v1/admin/persons", headers=bearer(provider.token(new)))
        assert rotated.status_code == 403 and provider.hits["jwks"] == 2  # one fetch for the new kid

        forged = provider.token(SigningKey.generate("ES256"), kid="forged")
        refused = await gateway.get("/v1/admin/persons", headers=bearer(forged))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
        assert provider.hits["jwks"] == 2  # within the interval: no fetch for it

    async def test_the_lifespan_closes_its_client(self, system, provider: Provider) -> None:
        settings = system.runtime("gateway").settings.model_copy(
            update={"oidc_jwks_path": None, "oidc_jwks_url": provider.jwks_url, "oidc_issuer": provider.issuer}
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            keys = app.state.runtime.verifier.keys
            assert isinstance(keys, ProviderKeys) and keys.staleness_s() is not None
        assert keys._client.is_closed
