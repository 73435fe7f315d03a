"""RFC 9068 access tokens for partners: issued short-lived, verified with pinned algorithms."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import jws, jwt
from jose.exceptions import JOSEError

from libs.common.errors import Unauthenticated
from libs.common.oauth.keys import SIGNING_ALGORITHMS, KeyRing, VerificationKeys
from libs.common.tokens import unverified_header

TOKEN_TYPE = "at+jwt"
MAX_LIFETIME = timedelta(minutes=10)
DEFAULT_LIFETIME = timedelta(minutes=5)
# Gateway and sharing run on different machines; a little clock skew must not refuse a fresh token.
CLOCK_LEEWAY = timedelta(seconds=30)
REQUIRED_CLAIMS = ("iss", "aud", "sub", "client_id", "agreement_id", "scope", "iat", "exp", "jti")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A signed token and what the token endpoint answers about it."""

    access_token: str
    jti: str
    scopes: frozenset[str]
    expires_at: datetime
    expires_in: int

    def response_body(self) -> dict[str, Any]:
        """The RFC 6749 §5.1 success body (sent with `Cache-Control: no-store`)."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(sorted(self.scopes)),
        }


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """The verified claims of a partner access token."""

    issuer: str
    audience: str
    client_id: str
    agreement_id: str
    scopes: frozenset[str]
    issued_at: datetime
    expires_at: datetime
    jti: str


def issue_access_token(
    keyring: KeyRing,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    agreement_id: str,
    scopes: Collection[str],
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    not_after: datetime | None = None,
) -> IssuedToken:
    """Sign a token for a client under an agreement; it never outlives ten minutes nor `not_after`."""
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(f"Token lifetime must be positive and at most {MAX_LIFETIME}")
    if not scopes:
        raise ValueError("A token carries at least one scope")
    issued_at = int(now.timestamp())
    expires_at = issued_at + int(lifetime.total_seconds())
    if not_after is not None:
        # The agreement's expiry caps the token, so no token outlives the agreement it names.
        expires_at = min(expires_at, int(not_after.timestamp()))
    if expires_at <= issued_at:
        raise ValueError("The token would expire before it is issued")
    jti = str(uuid.uuid4())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "agreement_id": agreement_id,
        "scope": " ".join(sorted(scopes)),
        "iat": issued_at,
        "nbf": issued_at,
        "exp": expires_at,
        "jti": jti,
    }
    key = keyring.current
    token = jwt.encode(claims, key.private_pem, algorithm=key.alg, headers={"kid": key.kid, "typ": TOKEN_TYPE})
    return IssuedToken(
        access_token=token,
        jti=jti,
        scopes=frozenset(scopes),
        expires_at=datetime.fromtimestamp(expires_at, UTC),
        expires_in=expires_at - issued_at,
    )


def verify_access_token(
    token: str,
    keys: VerificationKeys,
    *,
    issuer: str,
    audience: str,
    now: datetime,
    leeway: timedelta = CLOCK_LEEWAY,
) -> AccessTokenClaims:
    """Check signature, type, issuer, audience and times; return the claims or refuse the token."""
    try:
        header = unverified_header(token)
    except Unauthenticated:
        raise _invalid("The token is not a signed JWT with a header of strings") from None
    if header.get("typ", "").lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}"):
        raise _invalid("The token is not an access token (typ)")
    kid = header.get("kid")
    key = keys.verification_key(kid) if kid is not None else None
    if key is None:
        raise _invalid("The token's signing key is unknown")
    # The algorithm comes from our key, never from the token: this stops `none` and HS256-with-public-key.
    if header.get("alg") != key.alg or key.alg not in SIGNING_ALGORITHMS:
        raise _invalid("The token's algorithm is not the one pinned for its key")
    try:
        payload = json.loads(jws.verify(token, key.public_jwk, algorithms=[key.alg]))
    except (JOSEError, ValueError, RecursionError):
        raise _invalid("The token's signature does not verify") from None
    if not isinstance(payload, dict) or any(payload.get(name) in (None, "") for name in REQUIRED_CLAIMS):
        raise _invalid("The token lacks a required claim")
    return _check_claims(payload, issuer=issuer, audience=audience, now=now, leeway=leeway)


def is_revoked(claims: AccessTokenClaims, revoked_agreement_ids: Collection[str], revoked_jti: Collection[str]) -> bool:
    """Whether a verified token must still be refused: its agreement ended, or it was revoked itself."""
    return claims.agreement_id in revoked_agreement_ids or claims.jti in revoked_jti


def _check_claims(
    payload: dict[str, Any], *, issuer: str, audience: str, now: datetime, leeway: timedelta
) -> AccessTokenClaims:
    if payload["iss"] != issuer:
        raise _invalid("The token was issued by someone else")
    aud = payload["aud"]
    if aud != audience and not (isinstance(aud, list) and audience in aud):
        raise _invalid("The token is for another audience")
    if payload["sub"] != payload["client_id"]:
        raise _invalid("The token's subject is not its client")
    try:
        issued_at, expires_at = int(payload["iat"]), int(payload["exp"])
        not_before = int(payload.get("nbf", issued_at))
    except (TypeError, ValueError):
        raise _invalid("The token's times are not numbers") from None
    moment, slack = now.timestamp(), leeway.total_seconds()
    if expires_at - issued_at > MAX_LIFETIME.total_seconds():
        raise _invalid("The token lives longer than allowed")
    if moment >= expires_at + slack:
        raise Unauthenticated("The token has expired", code="token_expired")
    if moment < not_before - slack or moment < issued_at - slack:
        raise Unauthenticated("The token is not valid yet", code="token_not_yet_valid")
    return AccessTokenClaims(
        issuer=payload["iss"],
        audience=audience,
        client_id=str(payload["client_id"]),
        agreement_id=str(payload["agreement_id"]),
        scopes=frozenset(str(payload["scope"]).split()),
        issued_at=datetime.fromtimestamp(issued_at, UTC),
        expires_at=datetime.fromtimestamp(expires_at, UTC),
        jti=str(payload["jti"]),
    )


def _invalid(message: str) -> Unauthenticated:
    return Unauthenticated(message, code="invalid_token")
