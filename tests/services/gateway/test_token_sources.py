"""The identity provider's keys come from exactly one source, the development identity is refused in production
whatever that source, and the algorithm allow-list holds for fetched keys (no `none`, no HS, no key-type swap)."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jose import jwt
from pydantic import ValidationError

from libs.common.errors import Unauthenticated
from libs.common.oauth.keys import SigningKey
from libs.common.tokens import DEVELOPMENT_ISSUER, StaticKeys, TokenVerifier
from services.gateway.app import identity_keys, token_verifier
from services.gateway.identity_keys import ProviderKeys
from services.gateway.settings import GatewaySettings
from tests.conftest import REPO
from tests.utils.identity_provider import AUDIENCE, Provider, serving

PROVIDER = "https://sso.example.org/realms/alpr"
JWKS_URL = PROVIDER + "/protocol/openid-connect/certs"
DB = "postgresql+asyncpg://x@localhost/alpr"


def settings(environment: str = "test", **values: Any) -> GatewaySettings:
    return GatewaySettings(environment=environment, database_url=DB, **{"oidc_issuer": PROVIDER, **values})


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [SigningKey.generate("ES256").public_jwk]}))
    return path


@pytest.fixture
def provider() -> Iterator[Provider]:
    with serving(Provider(keys=[SigningKey.generate("ES256")])) as running:
        yield running


class TestOneKeySource:
    def test_none_is_refused_at_start_up(self) -> None:
        with pytest.raises(ValidationError, match=r"exactly one source .* \(given: none\)"):
            settings()

    @pytest.mark.parametrize(
        "given",
        [
            {"oidc_jwks_url": JWKS_URL, "oidc_jwks_path": "JWKS"},
            {"oidc_discovery": True, "oidc_jwks_url": JWKS_URL},
            {"oidc_discovery": True, "oidc_jwks_path": "JWKS"},
        ],
    )
    def test_two_are_refused_and_named(self, given: dict[str, Any], jwks_file: Path) -> None:
        values = {name: jwks_file if value == "JWKS" else value for name, value in given.items()}
        with pytest.raises(ValidationError, match="exactly one source") as refused:
            settings(**values)
        named = {f"ALPR_{name.upper()}" for name in given}
        assert all(name in str(refused.value) for name in named)

    def test_each_source_builds_its_own_keys(self, jwks_file: Path) -> None:
        assert isinstance(identity_keys(settings(oidc_jwks_path=jwks_file)), StaticKeys)
        fetched = identity_keys(settings(oidc_jwks_url=JWKS_URL))
        assert isinstance(fetched, ProviderKeys) and fetched.jwks_url == JWKS_URL and fetched.issuer is None
        discovered = identity_keys(settings(oidc_discovery=True))
        assert isinstance(discovered, ProviderKeys) and discovered.issuer == PROVIDER and discovered.jwks_url is None

    @pytest.mark.parametrize("environment", ["test", "production"])
    def test_keys_are_fetched_over_https_only(self, environment: str) -> None:
        with pytest.raises(ValidationError, match="ALPR_OIDC_JWKS_URL must be an https:// URL"):
            settings(environment, oidc_jwks_url="http://sso.example.org/certs")
        with pytest.raises(ValidationError, match="ALPR_OIDC_ISSUER must be an https:// URL"):
            settings(environment, oidc_issuer="http://sso.example.org/realms/alpr", oidc_discovery=True)

    def test_plain_http_to_loopback_outside_production_only(self) -> None:
        assert settings(oidc_jwks_url="http://127.0.0.1:8080/certs").oidc_jwks_url
        with pytest.raises(ValidationError, match="https://"):
            settings("production", oidc_jwks_url="http://127.0.0.1:8080/certs")

    def test_the_refresh_interval_fits_inside_the_cache_bounds(self) -> None:
        with pytest.raises(ValidationError, match="REFRESH_INTERVAL_S"):
            settings(oidc_jwks_url=JWKS_URL, oidc_jwks_refresh_interval_s=0)
        with pytest.raises(ValidationError, match="REFRESH_INTERVAL_S"):
            settings(oidc_jwks_url=JWKS_URL, oidc_jwks_min_cache_s=7200, oidc_jwks_max_cache_s=3600)


class TestDevelopmentIdentityInProduction:
    @pytest.mark.parametrize("source", [{"oidc_jwks_url": JWKS_URL}, {"oidc_discovery": True}])
    def test_the_development_issuer_is_refused_whatever_the_source(self, source: dict[str, Any]) -> None:
        with pytest.raises(ValidationError, match="development issuer, refused in production"):
            settings("production", **{**source, "oidc_issuer": DEVELOPMENT_ISSUER})

    async def test_a_development_kid_published_by_the_provider_is_refused(self, provider: Provider) -> None:
        dev_key = SigningKey.generate("ES256")
        dev_key = SigningKey.from_pem(dev_key.private_pem, kid="dev-1234abcd")
        provider.rotate(dev_key)
        cfg = settings("production", oidc_jwks_url=JWKS_URL)
        keys = ProviderKeys(jwks_url=provider.jwks_url)
        try:
            await keys.start()
            verifier = token_verifier(cfg.model_copy(update={"oidc_issuer": provider.issuer}), keys)
            with pytest.raises(Unauthenticated) as refused:
                await verifier.verify(provider.token(dev_key))
            assert refused.value.details["reason"] == "development"
            assert (await verifier.verify(provider.token(provider.keys[0])))["sub"] == "officer-1"
        finally:
            await keys.close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestAlgorithms:
    """Fetched keys may carry no `alg` (Entra ID publishes none): the header's algorithm is still pinned."""

    @pytest.fixture
    def rsa(self) -> SigningKey:
        return SigningKey.generate("RS256")

    def verifier(self, *keys: dict[str, Any]) -> TokenVerifier:
        return TokenVerifier(StaticKeys({"keys": list(keys)}), issuer=PROVIDER, audience=AUDIENCE)

    def claims(self) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": PROVIDER, "aud": AUDIENCE, "sub": "officer-1", "iat": now, "exp": now + 600}

    async def reason(self, verifier: TokenVerifier, token: str) -> str:
        with pytest.raises(Unauthenticated) as refused:
            await verifier.verify(token)
        return str(refused.value.details["reason"])

    async def test_a_key_without_alg_verifies_its_own_algorithm(self, rsa: SigningKey) -> None:
        bare = {k: v for k, v in rsa.public_jwk.items() if k != "alg"}
        token = jwt.encode(self.claims(), rsa.private_pem, algorithm="RS256", headers={"kid": rsa.kid})
        assert (await self.verifier(bare).verify(token))["sub"] == "officer-1"

    async def test_hs256_keyed_with_the_rsa_public_key_is_refused(self, rsa: SigningKey) -> None:
        bare = {k: v for k, v in rsa.public_jwk.items() if k != "alg"}
        header = b64(json.dumps({"alg": "HS256", "kid": rsa.kid}).encode())
        token = f"{header}.{b64(json.dumps(self.claims()).encode())}.{b64(b'mac')}"
        assert await self.reason(self.verifier(bare), token) == "algorithm"

    async def test_alg_none_is_refused(self, rsa: SigningKey) -> None:
        header = b64(json.dumps({"alg": "none", "kid": rsa.kid}).encode())
        token = f"{header}.{b64(json.dumps(self.claims()).encode())}."
        assert await self.reason(self.verifier(rsa.public_jwk), token) == "algorithm"

    async def test_an_es256_header_on_an_rsa_key_is_refused(self, rsa: SigningKey) -> None:
        ec = SigningKey.generate("ES256")
        bare = {k: v for k, v in rsa.public_jwk.items() if k != "alg"}
        token = jwt.encode(self.claims(), ec.private_pem, algorithm="ES256", headers={"kid": rsa.kid})
        assert await self.reason(self.verifier(bare), token) == "algorithm"

    async def test_private_and_symmetric_keys_are_never_used(self, rsa: SigningKey) -> None:
        symmetric = {"kty": "oct", "kid": "shared", "k": b64(b"secret")}
        private = {**rsa.public_jwk, "kid": "leaked", "d": "x"}
        keys = StaticKeys({"keys": [symmetric, private, rsa.public_jwk]})
        assert await keys.key("shared") is None and await keys.key("leaked") is None
        assert await keys.key(rsa.kid) == rsa.public_jwk


class TestDeployment:
    @pytest.mark.parametrize("overlay", ["development", "production"])
    def test_the_deployed_gateway_fetches_the_providers_keys_and_names_no_other_source(self, overlay: str) -> None:
        sys.path.insert(0, str(REPO / "scripts"))
        from deployed_settings import DeployedSettings

        deployed = DeployedSettings.render(REPO / "deploy" / "k8s" / "overlays" / overlay)
        (gateway,) = [
            o for o in deployed.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "alpr-gateway"
        ]
        env = {
            entry["name"]
            for container in gateway["spec"]["template"]["spec"]["containers"]
            for entry in container.get("env", [])
        }
        names = env | set(deployed._config_maps()["alpr-config"]["data"])
        assert names & {"ALPR_OIDC_JWKS_URL", "ALPR_OIDC_JWKS_PATH", "ALPR_OIDC_DISCOVERY"} == {"ALPR_OIDC_JWKS_URL"}
        url = deployed.config("ALPR_OIDC_JWKS_URL")
        assert url.startswith("https://") and url.startswith(deployed.config("ALPR_OIDC_ISSUER"))
