"""A token header is the attacker's JSON: every shape of it is refused as a bad token, never a crash (issue #21)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jose import jwt

from libs.common.errors import Unauthenticated
from libs.common.oauth.errors import InvalidClient
from libs.common.oauth.keys import KeyRing, SigningKey
from libs.common.oauth.tokens import verify_access_token
from libs.common.tokens import StaticKeys, TokenVerifier, unverified_header
from services.sharing.oauth.client_assertion import assertion_issuer, verify_client_assertion

JSON_SHAPES: list[Any] = [["k"], {"k": "v"}, 7, 1.5, None, True, [[[]]], ""]
NOT_HEADERS = [b"[1,2]", b"7", b'"text"', b"null", b"not json", b"\xff\xfe", b"[" * 5000, b'{"kid":' + b"[" * 5000]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_header(header: Any, claims: dict[str, Any] | None = None) -> str:
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    return f"{b64(head)}.{b64(json.dumps(claims or {'sub': 'x'}).encode())}.{b64(b'signature')}"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256")


class TestUnverifiedHeader:
    @pytest.mark.parametrize("member", ["alg", "kid", "typ", "cty"])
    @pytest.mark.parametrize("value", [v for v in JSON_SHAPES if not isinstance(v, str)])
    def test_a_member_we_read_that_is_not_text_is_refused(self, member: str, value: Any) -> None:
        with pytest.raises(Unauthenticated) as refused:
            unverified_header(with_header({"alg": "ES256", "kid": "k", member: value}))
        assert refused.value.status == 401 and refused.value.details["reason"] == "malformed"

    @pytest.mark.parametrize("head", NOT_HEADERS)
    def test_a_header_that_is_not_a_json_object_is_refused(self, head: bytes) -> None:
        with pytest.raises(Unauthenticated):
            unverified_header(with_header(head))

    @pytest.mark.parametrize("token", ["", "a", "a.b", "!!!.???.***", "....", "a" * 10_000])
    def test_text_that_is_not_a_jws_is_refused(self, token: str) -> None:
        with pytest.raises(Unauthenticated):
            unverified_header(token)

    def test_members_we_do_not_read_may_be_any_json(self) -> None:
        assert unverified_header(with_header({"alg": "ES256", "jwk": {"kty": "EC"}, "crit": ["x"]}))["alg"] == "ES256"


class TestVerifiers:
    @pytest.mark.parametrize("kid", [v for v in JSON_SHAPES if v != ""])
    async def test_the_officer_verifier_refuses_a_kid_of_any_json_type(self, key: SigningKey, kid: Any) -> None:
        verifier = TokenVerifier(StaticKeys({"keys": [key.public_jwk]}), issuer="i", audience="a")
        with pytest.raises(Unauthenticated):
            await verifier.verify(with_header({"alg": "ES256", "kid": kid}))

    @pytest.mark.parametrize("kid", JSON_SHAPES)
    def test_the_partner_verifier_refuses_a_kid_of_any_json_type(self, key: SigningKey, kid: Any) -> None:
        header = {"alg": "ES256", "typ": "at+jwt", "kid": kid}
        with pytest.raises(Unauthenticated):
            verify_access_token(with_header(header), KeyRing(key), issuer="i", audience="a", now=datetime.now(UTC))

    @pytest.mark.parametrize("head", NOT_HEADERS)
    async def test_both_refuse_a_header_that_is_not_an_object(self, key: SigningKey, head: bytes) -> None:
        with pytest.raises(Unauthenticated):
            await TokenVerifier(StaticKeys({"keys": [key.public_jwk]}), issuer="i", audience="a").verify(
                with_header(head)
            )
        with pytest.raises(Unauthenticated):
            verify_access_token(with_header(head), KeyRing(key), issuer="i", audience="a", now=datetime.now(UTC))


class TestClientAssertions:
    @pytest.mark.parametrize("member", ["alg", "kid", "typ"])
    @pytest.mark.parametrize("value", [v for v in JSON_SHAPES if not isinstance(v, str)])
    def test_an_assertion_header_of_any_shape_is_invalid_client(self, key: SigningKey, member: str, value: Any) -> None:
        now = datetime.now(UTC)
        claims = {"iss": "c", "sub": "c", "aud": "t", "exp": int(now.timestamp()) + 60, "jti": "j"}
        token = jwt.encode(claims, key.private_pem, algorithm="ES256", headers={member: value})
        with pytest.raises(InvalidClient):
            verify_client_assertion(token, key.public_jwk, client_id="c", token_endpoint="t", now=now)

    @pytest.mark.parametrize("head", NOT_HEADERS)
    def test_an_assertion_that_is_not_a_jws_is_invalid_client(self, key: SigningKey, head: bytes) -> None:
        with pytest.raises(InvalidClient):
            verify_client_assertion(
                with_header(head), key.public_jwk, client_id="c", token_endpoint="t", now=datetime.now(UTC)
            )

    def test_a_deeply_nested_payload_has_no_issuer(self) -> None:
        token = f"{b64(b'{}')}.{b64(b'[' * 5000)}.{b64(b's')}"
        assert assertion_issuer(token) is None
