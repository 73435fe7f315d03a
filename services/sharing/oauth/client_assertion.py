"""private_key_jwt client authentication (RFC 7523 §2.2, §3): a short JWT signed by the client's key."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import jws, jwt
from jose.exceptions import JOSEError

from libs.common.errors import Unauthenticated
from libs.common.oauth.errors import InvalidClient
from libs.common.tokens import unverified_header

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Short enough that the single-use `jti` store stays small; long enough for a slow network.
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
# accepted until exp + this, so a used jti is kept as long (repository.use_assertion)
CLOCK_LEEWAY = timedelta(seconds=30)
MIN_RSA_MODULUS_BYTES = 256
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True, slots=True)
class ClientAssertion:
    """A verified assertion; the service refuses its `jti` if seen before `expires_at` + CLOCK_LEEWAY (replay)."""

    client_id: str
    jti: str
    expires_at: datetime


def validate_client_jwk(public_jwk: Mapping[str, Any]) -> dict[str, Any]:
    """Check a JWK a partner registers: public only, EC P-256 or RSA of 2048 bits or more."""
    if PRIVATE_MEMBERS & public_jwk.keys():
        raise ValueError("A registered client key must be public only")
    alg = jwk_algorithm(public_jwk)
    if alg is None:
        raise ValueError("A client key is EC P-256 (ES256) or RSA of 2048 bits or more (RS256)")
    return {**public_jwk, "alg": alg}


def jwk_algorithm(public_jwk: Mapping[str, Any]) -> str | None:
    """The one algorithm a client key may sign with, or None if the key is not acceptable."""
    if public_jwk.get("kty") == "EC" and public_jwk.get("crv") == "P-256":
        alg = "ES256"
    elif public_jwk.get("kty") == "RSA" and _modulus_bytes(public_jwk.get("n")) >= MIN_RSA_MODULUS_BYTES:
        alg = "RS256"
    else:
        return None
    return alg if public_jwk.get("alg", alg) == alg else None


def assertion_issuer(assertion: str) -> str | None:
    """The unverified `iss`, only to find which client's key to verify the assertion with."""
    try:
        claims = jwt.get_unverified_claims(assertion)
    except (JOSEError, RecursionError):
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) and issuer else None


def verify_client_assertion(
    assertion: str,
    client_jwk: Mapping[str, Any],
    *,
    client_id: str,
    token_endpoint: str,
    now: datetime,
    leeway: timedelta = CLOCK_LEEWAY,
) -> ClientAssertion:
    """Verify signature, `iss` = `sub` = client, `aud` = our token endpoint, a short `exp`, and a `jti`."""
    alg = jwk_algorithm(client_jwk)
    try:
        header = unverified_header(assertion)
    except Unauthenticated:
        raise InvalidClient("The client assertion is not a signed JWT with a header of strings") from None
    # The algorithm is the registered key's, so `none` and HS256 keyed with the public key never pass.
    if alg is None or header.get("alg") != alg:
        raise InvalidClient("The client assertion's algorithm is not the client key's")
    try:
        claims = json.loads(jws.verify(assertion, dict(client_jwk), algorithms=[alg]))
    except (JOSEError, ValueError, RecursionError):
        raise InvalidClient("The client assertion's signature does not verify") from None
    if not isinstance(claims, dict):
        raise InvalidClient("The client assertion has no claims")
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("The client assertion's iss and sub must be the client id")
    aud = claims.get("aud")
    if aud != token_endpoint and not (isinstance(aud, list) and token_endpoint in aud):
        raise InvalidClient("The client assertion's aud must be the token endpoint")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidClient("The client assertion needs a jti")
    expires_at = _check_times(claims, now=now, leeway=leeway)
    return ClientAssertion(client_id=client_id, jti=jti, expires_at=expires_at)


def _check_times(claims: dict[str, Any], *, now: datetime, leeway: timedelta) -> datetime:
    try:
        exp = float(claims["exp"])
        nbf = float(claims.get("nbf", 0))
        iat = float(claims.get("iat", 0))
    except KeyError:
        raise InvalidClient("The client assertion needs an exp") from None
    except (TypeError, ValueError):
        raise InvalidClient("The client assertion's times are not numbers") from None
    moment, slack = now.timestamp(), leeway.total_seconds()
    if moment >= exp + slack:
        raise InvalidClient("The client assertion has expired")
    if exp - moment > (MAX_ASSERTION_LIFETIME + leeway).total_seconds():
        raise InvalidClient("The client assertion lives too long; keep exp within five minutes")
    if moment < nbf - slack or moment < iat - slack:
        raise InvalidClient("The client assertion is not valid yet")
    return datetime.fromtimestamp(exp, UTC)


def _modulus_bytes(n: Any) -> int:
    if not isinstance(n, str):
        return 0
    try:
        return len(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4)).lstrip(b"\0"))
    except ValueError:
        return 0
