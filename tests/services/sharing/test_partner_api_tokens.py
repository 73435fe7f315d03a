"""The token endpoint and partner token checks at the gateway: audience, expiry, revocation, replay."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from libs.common.oauth.keys import SigningKey
from libs.common.oauth.tokens import issue_access_token
from services.gateway.api.partner import KEYS_REFETCH_S
from services.sharing.oauth.client_assertion import ASSERTION_TYPE

pytestmark = pytest.mark.asyncio(loop_scope="session")


def sharing_keyring(system):  # type: ignore[no-untyped-def]
    return system.runtime("sharing").keyring


def sharing_settings(system):  # type: ignore[no-untyped-def]
    return system.runtime("sharing").settings


def mint(system, setup, **overrides):  # type: ignore[no-untyped-def]
    """A token signed by the sharing service's own key, with claims a test chooses."""
    s = sharing_settings(system)
    args = {
        "issuer": s.partner_issuer,
        "audience": s.partner_audience,
        "client_id": setup["client_id"],
        "agreement_id": setup["agreement_id"],
        "scopes": ["reads:search", "hotlists:read", "hotlists:write"],
        "now": datetime.now(UTC),
        **overrides,
    }
    return issue_access_token(sharing_keyring(system), **args).access_token


async def hotlists(system, token: str):  # type: ignore[no-untyped-def]
    return await system.gateway.get("/partner/v1/hotlists", headers={"Authorization": f"Bearer {token}"})


def assert_refused(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401, response.text
    assert response.json() == {"error": {"code": "invalid_token", "message": "The access token is not valid"}}
    assert response.headers["www-authenticate"].startswith("Bearer")


class TestTokenEndpoint:
    async def test_client_secret_basic_gets_an_rfc_9068_token(self, system, partners) -> None:
        setup = await partners.shared_client()
        response = await system.gateway.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "reads:search"},
            auth=(setup["client_id"], setup["client_secret"]),
        )
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= 600
        assert body["scope"] == "reads:search"
        header = jwt.get_unverified_header(body["access_token"])
        claims = jwt.get_unverified_claims(body["access_token"])
        assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
        assert claims["sub"] == setup["client_id"] and claims["agreement_id"] == setup["agreement_id"]
        assert claims["aud"] == sharing_settings(system).partner_audience and claims["jti"]
        jwks = (await system.gateway.get("/.well-known/jwks.json")).json()
        assert header["kid"] in [k["kid"] for k in jwks["keys"]]
        assert all("d" not in k for k in jwks["keys"])

    async def test_a_wrong_secret_is_invalid_client_with_a_challenge(self, system, partners) -> None:
        setup = await partners.shared_client()
        response = await system.gateway.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(setup["client_id"], "wrong")
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize(
        ("form", "error"),
        [
            ({}, "invalid_request"),
            ({"grant_type": "password"}, "unsupported_grant_type"),
            ({"grant_type": "client_credentials", "scope": "reads:export"}, "invalid_scope"),
        ],
    )
    async def test_rfc_6749_errors(self, system, partners, form, error) -> None:
        setup = await partners.shared_client()
        response = await system.gateway.post(
            "/oauth/token", data=form, auth=(setup["client_id"], setup["client_secret"])
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == error and "error_description" in response.json()
        assert response.headers["cache-control"] == "no-store"

    async def test_a_json_body_is_invalid_request(self, system) -> None:
        response = await system.gateway.post("/oauth/token", json={"grant_type": "client_credentials"})
        assert response.status_code == 400 and response.json()["error"] == "invalid_request"


class TestTokenChecks:
    async def test_a_token_for_another_audience_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        assert (await hotlists(system, mint(system, setup))).status_code != 401
        assert_refused(await hotlists(system, mint(system, setup, audience="https://other.example/api")))

    async def test_an_expired_token_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        stale = mint(system, setup, now=datetime.now(UTC) - timedelta(minutes=20))
        assert_refused(await hotlists(system, stale))

    async def test_a_token_signed_by_another_key_or_tampered_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        token = mint(system, setup)
        head, body, signature = token.split(".")
        assert_refused(await hotlists(system, f"{head}.{body}.{signature[::-1]}"))
        assert_refused(await hotlists(system, "not-a-jwt"))
        assert_refused(await system.gateway.get("/partner/v1/hotlists"))

    async def test_after_key_rotation_old_and_new_tokens_verify(self, system, partners) -> None:
        setup = await partners.shared_client()
        old = await partners.token(setup)
        keyring = sharing_keyring(system)
        keyring.rotate(SigningKey.generate("ES256"))
        await asyncio.sleep(KEYS_REFETCH_S)  # the gateway refetches for an unknown key once a second at most
        new = await partners.token(setup)
        assert jwt.get_unverified_header(new)["kid"] == keyring.current.kid
        assert (await hotlists(system, new)).status_code == 200
        assert (await hotlists(system, old)).status_code == 200


class TestRevocation:
    async def test_a_revoked_agreement_refuses_tokens_already_issued_within_a_second(self, system, partners) -> None:
        setup = await partners.with_client()
        token = await partners.token(setup)
        assert (await hotlists(system, token)).status_code == 200
        await partners.revoke(setup["agreement_id"])
        revoked_at = time.monotonic()
        response = await hotlists(system, token)
        assert time.monotonic() - revoked_at < 1.0
        assert_refused(response)
        renewed = await system.gateway.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(setup["client_id"], setup["client_secret"]),
        )
        assert renewed.status_code == 400 and renewed.json()["error"] == "unauthorized_client"


class TestReplay:
    # (iat, exp) from now: live, and expired but inside the clock leeway, where it is still accepted, so its jti
    # must be kept until exp + the leeway, not only until exp (found by a red team)
    @pytest.mark.parametrize(("iat", "exp"), [(0, 60), (-60, -2)], ids=["live", "in_the_leeway"])
    async def test_a_private_key_jwt_assertion_is_single_use(self, system, partners, iat: int, exp: int) -> None:
        made = await partners.agreement()
        key = SigningKey.generate("ES256")
        client = await partners.client(made["agreement_id"], auth_method="private_key_jwt", public_jwk=key.public_jwk)
        now = int(time.time())
        claims = {
            "iss": client["client_id"],
            "sub": client["client_id"],
            "aud": "http://gateway/oauth/token",
            "iat": now + iat,
            "exp": now + exp,
            "jti": str(uuid.uuid4()),
        }
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jwt.encode(claims, key.private_pem, algorithm="ES256"),
        }
        first = await system.gateway.post("/oauth/token", data=form)
        assert first.status_code == 200, first.text
        replayed = await system.gateway.post("/oauth/token", data=form)
        assert replayed.status_code == 401, replayed.text
        assert replayed.json()["error"] == "invalid_client"

    async def test_an_access_token_is_a_bearer_token_until_it_expires(self, system, partners) -> None:
        # Documented: access tokens are not single use; only exp, revocation and the agreement bound them.
        setup = await partners.shared_client()
        token = await partners.token(setup)
        assert (await hotlists(system, token)).status_code == 200
        assert (await hotlists(system, token)).status_code == 200
