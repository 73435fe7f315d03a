"""Partner access tokens (RFC 9068): issued short-lived, refused when anything about them is off."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from jose import jwt

from libs.common.errors import Unauthenticated
from libs.common.oauth.keys import KeyRing, PublishedKeys, SigningKey
from libs.common.oauth.tokens import is_revoked, issue_access_token, verify_access_token

ISSUER = "https://alpr.sjpd.example/oauth"
AUDIENCE = "https://alpr.sjpd.example/partner/v1"


def issue(keyring, now, **overrides):
    args = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "client_id": "cl-sccso-1",
        "agreement_id": "SJPD-IAA-2026-007",
        "scopes": ["reads:search"],
        "now": now,
    }
    return issue_access_token(keyring, **{**args, **overrides})


def verify(token, keys, now, **overrides):
    return verify_access_token(token, keys, **{"issuer": ISSUER, "audience": AUDIENCE, "now": now, **overrides})


def claims_at(now, **overrides):
    iat = int(now.timestamp())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "cl-sccso-1",
        "client_id": "cl-sccso-1",
        "agreement_id": "SJPD-IAA-2026-007",
        "scope": "reads:search",
        "iat": iat,
        "exp": iat + 300,
        "jti": "5f0c1d2e-0000-4000-8000-000000000001",
    }
    return {**claims, **overrides}


def sign(key, claims, typ="at+jwt"):
    return jwt.encode(claims, key.private_pem, algorithm=key.alg, headers={"kid": key.kid, "typ": typ})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, signer) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(signer(signing_input.encode()))}"


def refusal(token, keys, now, **overrides) -> str:
    with pytest.raises(Unauthenticated) as refused:
        verify(token, keys, now, **overrides)
    assert refused.value.status == 401
    return refused.value.code


class TestIssue:
    def test_round_trip(self, keyring, now):
        issued = issue(keyring, now, scopes=["reads:search", "hotlists:read"])
        claims = verify(issued.access_token, keyring, now + timedelta(minutes=4))
        assert claims.client_id == "cl-sccso-1"
        assert claims.agreement_id == "SJPD-IAA-2026-007"
        assert claims.scopes == {"reads:search", "hotlists:read"}
        assert claims.jti == issued.jti
        assert issued.response_body() == {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "hotlists:read reads:search",
        }

    def test_header_and_claims_follow_rfc_9068(self, keyring, now):
        token = issue(keyring, now).access_token
        assert jwt.get_unverified_header(token) == {
            "alg": "ES256",
            "typ": "at+jwt",
            "kid": keyring.current.kid,
        }
        claims = jwt.get_unverified_claims(token)
        assert claims["sub"] == claims["client_id"] == "cl-sccso-1"
        assert claims["exp"] - claims["iat"] == 300

    def test_lifetime_over_ten_minutes_is_refused(self, keyring, now):
        with pytest.raises(ValueError):
            issue(keyring, now, lifetime=timedelta(minutes=11))

    def test_token_never_outlives_its_agreement(self, keyring, now):
        issued = issue(keyring, now, not_after=now + timedelta(minutes=2))
        assert issued.expires_in == 120

    def test_rs256_round_trip(self, now):
        keyring = KeyRing(SigningKey.generate("RS256"))
        issued = issue(keyring, now)
        assert verify(issued.access_token, keyring, now).client_id == "cl-sccso-1"


class TestVerify:
    def test_wrong_audience_is_refused(self, keyring, now):
        token = issue(keyring, now, audience="https://other.example/api").access_token
        assert refusal(token, keyring, now) == "invalid_token"

    def test_wrong_issuer_is_refused(self, keyring, now):
        token = issue(keyring, now, issuer="https://evil.example").access_token
        assert refusal(token, keyring, now) == "invalid_token"

    def test_expired_is_refused(self, keyring, now):
        token = issue(keyring, now).access_token
        assert refusal(token, keyring, now + timedelta(minutes=6)) == "token_expired"

    def test_future_nbf_is_refused(self, keyring, now):
        key = keyring.current
        claims = claims_at(now, nbf=int(now.timestamp()) + 120)
        token = sign(key, claims)
        assert refusal(token, keyring, now) == "token_not_yet_valid"

    def test_overlong_lifetime_is_refused(self, keyring, now):
        key = keyring.current
        claims = claims_at(now, exp=int(now.timestamp()) + 3600)
        token = sign(key, claims)
        assert refusal(token, keyring, now) == "invalid_token"

    def test_alg_none_is_refused(self, keyring, now):
        header = {"alg": "none", "typ": "at+jwt", "kid": keyring.current.kid}
        token = forge(header, claims_at(now), lambda _: b"")
        assert refusal(token, keyring, now) == "invalid_token"
        assert refusal(token.rsplit(".", 1)[0] + ".", keyring, now) == "invalid_token"

    def test_hs256_keyed_with_the_public_key_is_refused(self, keyring, signing_key, now):
        public = serialization.load_pem_private_key(signing_key.private_pem.encode(), None).public_key()
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        header = {"alg": "HS256", "typ": "at+jwt", "kid": keyring.current.kid}
        token = forge(header, claims_at(now), lambda data: hmac.new(pem, data, hashlib.sha256).digest())
        assert refusal(token, keyring, now) == "invalid_token"

    def test_unknown_kid_is_refused(self, keyring, now):
        stranger = SigningKey.generate("ES256")
        headers = {"kid": stranger.kid, "typ": "at+jwt"}
        token = jwt.encode(claims_at(now), stranger.private_pem, algorithm="ES256", headers=headers)
        assert refusal(token, keyring, now) == "invalid_token"

    def test_wrong_key_under_a_known_kid_is_refused(self, keyring, now):
        stranger = SigningKey.generate("ES256")
        headers = {"kid": keyring.current.kid, "typ": "at+jwt"}
        token = jwt.encode(claims_at(now), stranger.private_pem, algorithm="ES256", headers=headers)
        assert refusal(token, keyring, now) == "invalid_token"

    @pytest.mark.parametrize("typ", ["JWT", None])
    def test_wrong_typ_is_refused(self, keyring, now, typ):
        key = keyring.current
        token = sign(key, claims_at(now), typ=typ)
        assert refusal(token, keyring, now) == "invalid_token"

    def test_missing_claim_is_refused(self, keyring, now):
        key = keyring.current
        claims = {k: v for k, v in claims_at(now).items() if k != "agreement_id"}
        token = sign(key, claims)
        assert refusal(token, keyring, now) == "invalid_token"

    @pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "x" * 40])
    def test_malformed_is_refused(self, keyring, now, token):
        assert refusal(token, keyring, now) == "invalid_token"

    def test_tampered_claims_are_refused(self, keyring, now):
        header, _, signature = issue(keyring, now).access_token.split(".")
        body = b64(json.dumps(claims_at(now, scope="reads:search hotlists:write")).encode())
        assert refusal(f"{header}.{body}.{signature}", keyring, now) == "invalid_token"


class TestKeyRotation:
    def test_old_tokens_still_verify_and_jwks_lists_both(self, keyring, now):
        old_kid = keyring.current.kid
        old_token = issue(keyring, now).access_token
        new_key = keyring.rotate()
        new_token = issue(keyring, now).access_token
        assert jwt.get_unverified_header(new_token)["kid"] == new_key.kid != old_kid
        assert verify(old_token, keyring, now).jti
        assert verify(new_token, keyring, now).jti
        published = keyring.jwks()
        assert [key["kid"] for key in published["keys"]] == [new_key.kid, old_kid]
        assert all("d" not in key for key in published["keys"])

    def test_gateway_verifies_with_the_published_jwks_alone(self, keyring, now):
        token = issue(keyring, now).access_token
        published = PublishedKeys(json.loads(json.dumps(keyring.jwks())))
        assert verify(token, published, now).client_id == "cl-sccso-1"

    def test_retired_key_no_longer_verifies(self, keyring, now):
        old_kid = keyring.current.kid
        old_token = issue(keyring, now).access_token
        keyring.rotate()
        keyring.retire(old_kid)
        assert refusal(old_token, keyring, now) == "invalid_token"

    def test_jwks_entry_without_an_asymmetric_alg_is_ignored(self, keyring, now):
        entry = {**keyring.jwks()["keys"][0], "alg": "HS256"}
        token = issue(keyring, now).access_token
        assert refusal(token, PublishedKeys({"keys": [entry]}), now) == "invalid_token"


class TestRevocation:
    def test_revoked_agreement_or_jti_is_refused(self, keyring, now):
        claims = verify(issue(keyring, now).access_token, keyring, now)
        assert not is_revoked(claims, {"SJPD-IAA-2025-001"}, set())
        assert is_revoked(claims, {"SJPD-IAA-2026-007"}, set())
        assert is_revoked(claims, set(), {claims.jti})
