"""JWT verification against a JWKS: algorithms pinned, `iss`, `aud` and `exp` required, keys by id.

The keys come from a key source: a JWKS file read once (`StaticKeys`, for air-gapped sites) or the identity
provider's published set, fetched and refreshed (services/gateway/identity_keys.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from jose import jwk, jws, jwt
from jose.exceptions import ExpiredSignatureError, JOSEError, JWTClaimsError

from libs.common.errors import Unauthenticated

ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")
# The development identity (`alpr up`, `alpr token`): its issuer and the mark on its key ids. Refused in production.
DEVELOPMENT_ISSUER = "http://127.0.0.1/dev-issuer"
DEVELOPMENT_KID_PREFIX = "dev-"
# The header members we read before the signature is checked; each must be a string when present.
_TEXT_HEADER_MEMBERS = ("alg", "kid", "typ", "cty")
# The key type each allowed algorithm needs: an RS256 header never meets an EC key, nor ES256 an RSA one.
_KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256")}


class KeySource(Protocol):
    """Where a verifier finds a public JWK by its `kid`."""

    async def key(self, kid: str) -> dict[str, Any] | None: ...


def signing_keys(jwks: object) -> dict[str, dict[str, Any]]:
    """The usable keys of a JWKS by `kid`: public, RSA or EC, for signatures; anything else is skipped."""
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        return {}
    return {
        entry["kid"]: dict(entry)
        for entry in entries
        if isinstance(entry, dict)
        and isinstance(entry.get("kid"), str)
        and entry.get("kty") in ("RSA", "EC")
        and "d" not in entry  # a private key published by mistake is never used
        and entry.get("use", "sig") == "sig"
    }


class StaticKeys:
    """A JWKS read once: a new key of the provider's is unknown here until the file is replaced and the
    gateway restarted (the air-gapped site's rotation, docs/operations.md)."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys = signing_keys(jwks)

    @classmethod
    def from_file(cls, path: Path) -> StaticKeys:
        return cls(json.loads(path.read_text()))

    async def key(self, kid: str) -> dict[str, Any] | None:
        return self._keys.get(kid)


def unverified_header(token: str) -> dict[str, Any]:
    """A token's header, read before its signature is checked, or Unauthenticated when it is not one we read.

    The header is the attacker's JSON: a `kid` that is a list or an object must be refused here, not reach a
    key lookup that hashes it.
    """
    try:
        header = jws.get_unverified_header(token)
    except (JOSEError, RecursionError) as exc:  # a header nested thousands deep is the attacker's too
        raise Unauthenticated("malformed token", code="invalid_token", reason="malformed") from exc
    if not isinstance(header, dict) or any(
        name in header and not isinstance(header[name], str) for name in _TEXT_HEADER_MEMBERS
    ):
        raise Unauthenticated("malformed token header", code="invalid_token", reason="malformed")
    return header


def is_development_jwks(path: Path) -> bool:
    """Whether a JWKS file holds a development issuer's key (its `kid` carries the development mark)."""
    try:
        keys = json.loads(path.read_text()).get("keys", [])
    except (OSError, ValueError, AttributeError):
        return False  # unreadable: the verifier refuses to start on it
    return any(str(key.get("kid", "")).startswith(DEVELOPMENT_KID_PREFIX) for key in keys if isinstance(key, dict))


class TokenVerifier:
    """Verifies bearer tokens from one issuer; every failure is the same 401 to the caller."""

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS,
        leeway_s: int = 30,
        max_lifetime_s: int | None = None,
        refuse_development: bool = False,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.algorithms = algorithms
        self.leeway_s = leeway_s
        # exp − iat at most this (a token without iat is refused); None: no bound (not for people's tokens)
        self.max_lifetime_s = max_lifetime_s
        # production: a development key id or issuer is refused whatever the JWKS holds
        self.refuse_development = refuse_development
        self.keys = keys

    async def verify(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        """Return the claims of a valid token or raise Unauthenticated with a reason code.

        Everything that needs no key is checked first, so a forged token reaches the key source (which may
        fetch the provider's keys for an unknown `kid`) only with an allowed algorithm and type.
        """
        header = unverified_header(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise Unauthenticated("algorithm not allowed", code="invalid_token", reason="algorithm")
        if typ is not None and str(header.get("typ", "")).lower() != typ:
            raise Unauthenticated("wrong token type", code="invalid_token", reason="typ")
        if self.refuse_development and str(header.get("kid", "")).startswith(DEVELOPMENT_KID_PREFIX):
            raise Unauthenticated("development token", code="invalid_token", reason="development")
        kid = header.get("kid")
        key = await self.keys.key(kid) if kid else None
        if key is None:
            raise Unauthenticated("unknown key id", code="invalid_token", reason="kid")
        if (key.get("alg") and key["alg"] != alg) or (key.get("kty"), key.get("crv")) != _KEY_TYPES.get(alg):
            raise Unauthenticated("key and algorithm differ", code="invalid_token", reason="algorithm")
        try:
            claims = jwt.decode(
                token,
                jwk.construct(key, alg),
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require_exp": True,
                    "require_iss": True,
                    "require_aud": True,
                    "require_sub": True,
                    "leeway": self.leeway_s,
                },
            )
        except ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", code="invalid_token", reason="expired") from exc
        except (JWTClaimsError, TypeError) as exc:  # jose meets a null iat or exp as a TypeError
            raise Unauthenticated("token claims refused", code="invalid_token", reason="claims") from exc
        except JOSEError as exc:  # a bad signature, or a published key jose cannot build
            raise Unauthenticated("token refused", code="invalid_token", reason="signature") from exc
        if self.refuse_development and claims.get("iss") == DEVELOPMENT_ISSUER:
            raise Unauthenticated("development token", code="invalid_token", reason="development")
        self._check_lifetime(claims)
        return claims

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """A bounded lifetime from an issue time that is not in the future; without iat it cannot be bounded."""
        if self.max_lifetime_s is None:
            return
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or isinstance(iat, bool) or not isinstance(exp, int | float):
            raise Unauthenticated("token without an issue time", code="invalid_token", reason="lifetime")
        if iat > time.time() + self.leeway_s or exp - iat > self.max_lifetime_s:
            raise Unauthenticated("token lifetime refused", code="invalid_token", reason="lifetime")
