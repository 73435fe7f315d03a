"""Hardened token checks: every forged, stripped, mis-addressed or malformed token is one counted 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from prometheus_client import REGISTRY

from services.cli.dev_issuer import DEV_AUDIENCE, DEV_ISSUER

pytestmark = pytest.mark.asyncio(loop_scope="session")
ATTACKER = "attacker-not-in-registry"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    # a subject not in the registry: attacks naming a real person would count toward their lockout
    base = {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": ATTACKER, "iat": now, "exp": now + 600}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(header: dict[str, Any], body: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}.{b64(signature)}"


def signed(system, body: dict[str, Any], **headers: Any) -> str:  # type: ignore[no-untyped-def]
    key = system.stack.issuer.key_path.read_text()
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": system.stack.issuer.kid, **headers})


def attacks(system) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """name → token; none of these may get in."""
    kid = system.stack.issuer.kid
    public_pem = json.loads(system.stack.issuer.jwks_path.read_text())["keys"][0]
    key = serialization.load_pem_private_key(system.stack.issuer.key_path.read_bytes(), None)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs_header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    hs_input = f"{b64(json.dumps(hs_header).encode())}.{b64(json.dumps(claims()).encode())}"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forger_jwk = jwk.construct(other.decode(), "RS256").public_key().to_dict()
    good = signed(system, claims())
    head, body, sig = good.split(".")
    tampered_body = b64(json.dumps(claims(sub="dev-admin")).encode())  # claim to be someone else
    assert public_pem["kid"] == kid
    return {
        "alg_none": unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims()),
        "alg_none_uppercase": unsigned({"alg": "NONE", "kid": kid}, claims()),
        "hs256_with_public_key": f"{hs_input}.{b64(hmac.new(pem, hs_input.encode(), hashlib.sha256).digest())}",
        "missing_iss": signed(system, claims(iss=None)),
        "wrong_iss": signed(system, claims(iss="https://evil.example/issuer")),
        "missing_aud": signed(system, claims(aud=None)),
        "wrong_aud": signed(system, claims(aud="some-other-api")),
        "missing_exp": signed(system, claims(exp=None)),
        "expired": signed(system, claims(exp=int(time.time()) - 3600)),
        "future_nbf": signed(system, claims(nbf=int(time.time()) + 3600)),
        "missing_sub": signed(system, claims(sub=None)),
        "unknown_kid": jwt.encode(
            claims(), system.stack.issuer.key_path.read_text(), algorithm="RS256", headers={"kid": "not-a-key-of-ours"}
        ),
        "missing_kid": jwt.encode(claims(), system.stack.issuer.key_path.read_text(), algorithm="RS256"),
        "signed_by_another_key": jwt.encode(claims(), other.decode(), algorithm="RS256", headers={"kid": kid}),
        "embedded_jwk_of_the_forger": jwt.encode(
            claims(), other.decode(), algorithm="RS256", headers={"kid": kid, "jwk": forger_jwk}
        ),
        "jku_pointing_elsewhere": jwt.encode(
            claims(), other.decode(), algorithm="RS256", headers={"kid": kid, "jku": "https://evil.example/jwks"}
        ),
        "tampered_payload": f"{head}.{tampered_body}.{sig}",
        "signature_stripped": f"{head}.{body}.",
        "malformed_garbage": "not-a-token",
        "malformed_two_parts": f"{head}.{body}",
        "malformed_bad_base64": "eyJ%%%.eyJ%%%.%%%",
        "malformed_header_json": f"{b64(b'{not json')}.{body}.{sig}",
    }


def denied_total() -> float:
    total = 0.0
    for metric in REGISTRY.collect():
        if metric.name == "alpr_denied":
            total += sum(
                s.value
                for s in metric.samples
                if s.name == "alpr_denied_total" and s.labels.get("reason", "").startswith("token_")
            )
    return total


async def test_every_attack_token_gets_the_same_401_and_is_counted(system) -> None:
    tokens = attacks(system)
    bodies = set()
    for name, token in tokens.items():
        before = denied_total()
        response = await system.gateway.post(
            "/v1/searches", json={"query": {}, "purpose": {}}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"]["code"] == "unauthenticated", name
        assert denied_total() == before + 1, name
        bodies.add(response.content)
    # one answer for every failure: nothing tells the attacker which check stopped them
    assert len(bodies) == 1


async def test_the_same_claims_properly_signed_get_past_authentication(system) -> None:
    response = await system.gateway.get(
        "/v1/approvals", headers={"Authorization": f"Bearer {signed(system, claims())}"}
    )
    # authenticated, then refused by the registry: not a person of ours
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_eligible"
    officer = signed(system, claims(sub="dev-officer"))
    assert (
        await system.gateway.get("/v1/approvals", headers={"Authorization": f"Bearer {officer}"})
    ).status_code == 200


async def test_forged_tokens_naming_a_person_do_not_lock_them_but_their_own_failures_do(system) -> None:
    from tests.utils.registry_people import audit_rows, bearer, fetch, new_sub, put_person

    sub = await put_person(system, new_sub("atk"), ["officer"])
    kid = system.stack.issuer.kid
    for _ in range(6):
        token = unsigned({"alg": "none", "kid": kid}, claims(sub=sub, jti=str(uuid.uuid4())))
        assert (
            await system.gateway.get("/v1/approvals", headers={"Authorization": f"Bearer {token}"})
        ).status_code == 401
    assert (await system.gateway.get("/v1/approvals", headers=bearer(system, sub))).status_code == 200

    for _ in range(5):  # validly signed by the identity provider, but expired: the person's own failures
        expired = bearer(system, sub, ttl_s=-3600)
        assert (await system.gateway.get("/v1/approvals", headers=expired)).status_code == 401
    row = (await fetch(system, "SELECT status, status_reason FROM gateway.persons WHERE sub = $1", sub))[0]
    assert (row["status"], row["status_reason"]) == ("locked", "failed_authentications")
    refused = await system.gateway.get("/v1/approvals", headers=bearer(system, sub))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "account_locked"
    rows = await audit_rows(
        system, "event_type = 'sign_in_failure' AND payload::jsonb -> 'query' ->> 'subject' = $1", sub, expect=5
    )
    assert len(rows) == 5 and rows[-1]["payload"]["details"]["locked"] is True
