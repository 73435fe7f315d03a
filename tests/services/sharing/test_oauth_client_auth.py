"""The token endpoint's client credentials grant: client authentication, scopes, RFC 6749 errors."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from urllib.parse import quote_plus

import pytest
from jose import jwt

from libs.common.oauth.errors import InvalidClient, OAuthError, oauth_error_from_body
from libs.common.oauth.keys import SigningKey
from services.sharing.oauth.client_assertion import ASSERTION_TYPE
from services.sharing.oauth.client_auth import (
    OAuthClient,
    authenticate_client,
    grant_scopes,
    parse_token_request,
)
from services.sharing.oauth.client_secrets import hash_client_secret
from services.sharing.partners.agreements import AgreementStatus

TOKEN_ENDPOINT = "https://alpr.sjpd.example/oauth/token"
SECRET = "s3cr:et+with%odd&chars"
FORM = {"grant_type": "client_credentials"}


def basic(client_id: str, secret: str) -> str:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def assertion(key: SigningKey, now, **overrides) -> str:
    claims = {
        "iss": "cl-jwt-1",
        "sub": "cl-jwt-1",
        "aud": TOKEN_ENDPOINT,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 60,
        "jti": str(uuid.uuid4()),
        **overrides,
    }
    return jwt.encode(claims, key.private_pem, algorithm=key.alg, headers={"kid": key.kid})


def jwt_form(token: str) -> dict[str, str]:
    return {**FORM, "client_assertion_type": ASSERTION_TYPE, "client_assertion": token}


@pytest.fixture(scope="module")
def secret_client() -> OAuthClient:
    return OAuthClient(
        client_id="cl-sccso@1",
        agreement_id="SJPD-IAA-2026-007",
        auth_method="client_secret_basic",
        secret_hash=hash_client_secret(SECRET),
    )


@pytest.fixture(scope="module")
def client_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture(scope="module")
def jwt_client(client_key) -> OAuthClient:
    return OAuthClient(
        client_id="cl-jwt-1",
        agreement_id="SJPD-IAA-2026-007",
        auth_method="private_key_jwt",
        public_jwk=client_key.public_jwk,
    )


def authenticate(form, authorization, client, now):
    request = parse_token_request(form, authorization)
    return authenticate_client(request, client, token_endpoint=TOKEN_ENDPOINT, now=now)


def invalid_client(form, authorization, client, now) -> InvalidClient:
    with pytest.raises(InvalidClient) as refused:
        authenticate(form, authorization, client, now)
    return refused.value


class TestClientSecretBasic:
    def test_good_secret_authenticates(self, secret_client, now):
        authenticated = authenticate(FORM, basic("cl-sccso@1", SECRET), secret_client, now)
        assert authenticated.client == secret_client
        assert authenticated.assertion_jti is None

    def test_bad_secret_is_invalid_client_with_a_basic_challenge(self, secret_client, now):
        refused = invalid_client(FORM, basic("cl-sccso@1", SECRET + "x"), secret_client, now)
        assert refused.status == 401
        assert refused.to_body()["error"] == "invalid_client"
        assert refused.headers["WWW-Authenticate"].startswith("Basic ")
        assert refused.headers["Cache-Control"] == "no-store"

    def test_unknown_client_is_invalid_client(self, now):
        assert invalid_client(FORM, basic("cl-nobody", SECRET), None, now).status == 401

    def test_secret_is_not_accepted_in_the_body(self, secret_client, now):
        form = {**FORM, "client_id": "cl-sccso@1", "client_secret": SECRET}
        assert invalid_client(form, None, secret_client, now).code == "invalid_client"

    def test_bearer_scheme_is_invalid_client(self, secret_client, now):
        assert invalid_client(FORM, "Bearer abc", secret_client, now).code == "invalid_client"

    def test_basic_credentials_that_are_not_base64_are_invalid_client(self, secret_client, now):
        assert invalid_client(FORM, "Basic %%%", secret_client, now).code == "invalid_client"

    def test_jwt_client_cannot_use_a_secret(self, jwt_client, now):
        assert invalid_client(FORM, basic("cl-jwt-1", SECRET), jwt_client, now).code == "invalid_client"


class TestPrivateKeyJwt:
    def test_good_assertion_authenticates_and_returns_its_jti(self, jwt_client, client_key, now):
        token = assertion(client_key, now, jti="jti-0001")
        authenticated = authenticate(jwt_form(token), None, jwt_client, now)
        assert authenticated.assertion_jti == "jti-0001"
        assert authenticated.assertion_expires_at is not None
        assert authenticated.assertion_expires_at.timestamp() == int(now.timestamp()) + 60

    def test_wrong_audience_is_refused(self, jwt_client, client_key, now):
        token = assertion(client_key, now, aud="https://alpr.sjpd.example/partner/v1")
        assert "aud" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_expired_is_refused(self, jwt_client, client_key, now):
        token = assertion(client_key, now - timedelta(minutes=5))
        assert "expired" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_long_lived_assertion_is_refused(self, jwt_client, client_key, now):
        token = assertion(client_key, now, exp=int(now.timestamp()) + 3600)
        assert "too long" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_missing_exp_is_refused(self, jwt_client, client_key, now):
        token = jwt.encode(
            {"iss": "cl-jwt-1", "sub": "cl-jwt-1", "aud": TOKEN_ENDPOINT, "jti": "j"},
            client_key.private_pem,
            algorithm="ES256",
        )
        assert "exp" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_bad_signature_is_refused(self, jwt_client, now):
        token = assertion(SigningKey.generate("ES256"), now)
        assert "signature" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_subject_other_than_the_client_is_refused(self, jwt_client, client_key, now):
        token = assertion(client_key, now, sub="someone-else")
        assert "sub" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_missing_jti_is_refused(self, jwt_client, client_key, now):
        token = assertion(client_key, now, jti="")
        assert "jti" in invalid_client(jwt_form(token), None, jwt_client, now).message

    def test_wrong_assertion_type_is_refused(self, jwt_client, client_key, now):
        form = {**jwt_form(assertion(client_key, now)), "client_assertion_type": "urn:other"}
        assert invalid_client(form, None, jwt_client, now).code == "invalid_client"

    def test_client_id_differing_from_iss_is_refused(self, jwt_client, client_key, now):
        form = {**jwt_form(assertion(client_key, now)), "client_id": "cl-other"}
        assert invalid_client(form, None, jwt_client, now).code == "invalid_client"


class TestTokenRequestErrors:
    @pytest.mark.parametrize(
        ("form", "error"),
        [
            ({}, "invalid_request"),
            ({"grant_type": "password"}, "unsupported_grant_type"),
            ({"grant_type": ["client_credentials", "client_credentials"]}, "invalid_request"),
            ({**FORM, "scope": 'reads:search "x"'}, "invalid_scope"),
        ],
    )
    def test_malformed_requests_get_rfc_6749_bodies(self, form, error):
        with pytest.raises(OAuthError) as refused:
            parse_token_request(form, basic("cl-sccso@1", SECRET))
        assert refused.value.status == 400
        body = refused.value.to_body()
        assert set(body) == {"error", "error_description"}
        assert body["error"] == error
        assert '"' not in body["error_description"]

    def test_two_authentication_methods_are_invalid_request(self, client_key, now):
        form = jwt_form(assertion(client_key, now))
        with pytest.raises(OAuthError) as refused:
            parse_token_request(form, basic("cl-jwt-1", SECRET))
        assert (refused.value.status, refused.value.code) == (400, "invalid_request")

    def test_no_authentication_is_invalid_client(self):
        with pytest.raises(InvalidClient):
            parse_token_request(FORM, None)


class TestGrantScopes:
    def test_no_scope_gets_the_agreements_scopes(self, secret_client, agreement, now):
        request = parse_token_request(FORM, basic("cl-sccso@1", SECRET))
        assert grant_scopes(request.scopes, secret_client, agreement, now=now) == {
            "reads:search",
            "hotlists:read",
        }

    def test_narrower_scope_is_granted_as_asked(self, secret_client, agreement, now):
        request = parse_token_request({**FORM, "scope": "reads:search"}, basic("cl-sccso@1", SECRET))
        assert grant_scopes(request.scopes, secret_client, agreement, now=now) == {"reads:search"}

    def test_scope_beyond_the_agreement_is_invalid_scope(self, secret_client, agreement, now):
        with pytest.raises(OAuthError) as refused:
            grant_scopes(frozenset({"reads:search", "hotlists:write"}), secret_client, agreement, now=now)
        assert refused.value.to_body()["error"] == "invalid_scope"
        assert "hotlists:write" in refused.value.to_body()["error_description"]

    def test_revoked_agreement_is_unauthorized_client(self, secret_client, agreement, now):
        revoked = agreement.model_copy(update={"status": AgreementStatus.REVOKED})
        with pytest.raises(OAuthError) as refused:
            grant_scopes(None, secret_client, revoked, now=now)
        assert refused.value.to_body()["error"] == "unauthorized_client"

    def test_error_survives_the_nats_reply(self):
        rebuilt = oauth_error_from_body(InvalidClient("Client authentication failed").to_body())
        assert isinstance(rebuilt, InvalidClient) and rebuilt.status == 401
        scope = oauth_error_from_body(OAuthError("invalid_scope", "nope").to_body())
        assert scope is not None and (scope.status, scope.code) == (400, "invalid_scope")
        assert oauth_error_from_body({"code": "forbidden", "message": "x"}) is None
