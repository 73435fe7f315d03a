"""The token signing key ring: one current key signs, earlier keys stay published until tokens lapse."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk

# Asymmetric only: a verifier never holds anything that can sign, and HS256 is never accepted.
SIGNING_ALGORITHMS = frozenset({"ES256", "RS256"})
MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A published public key: its id, its one pinned algorithm and its JWK."""

    kid: str
    alg: str
    public_jwk: dict[str, Any]


class VerificationKeys(Protocol):
    """Anything that can find a public key by `kid`: the key ring itself, or a fetched JWKS."""

    def verification_key(self, kid: str) -> VerificationKey | None: ...


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key from settings, with its algorithm and a `kid` (RFC 7638 thumbprint by default)."""

    kid: str
    alg: str
    private_pem: str = field(repr=False)
    public_jwk: dict[str, Any] = field(repr=False)

    @classmethod
    def from_pem(cls, pem: str, *, kid: str | None = None) -> SigningKey:
        """Load a PEM private key; P-256 signs ES256, RSA of 2048 bits or more signs RS256."""
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            alg = "ES256"
        elif isinstance(key, rsa.RSAPrivateKey) and key.key_size >= MIN_RSA_BITS:
            alg = "RS256"
        else:
            raise ValueError("A signing key is an EC P-256 or an RSA (2048 bits or more) private key")
        public = jwk.construct(pem, alg).public_key().to_dict()
        kid = kid or jwk_thumbprint(public)
        return cls(kid=kid, alg=alg, private_pem=pem, public_jwk={**public, "kid": kid, "use": "sig"})

    @classmethod
    def generate(cls, alg: str = "ES256") -> SigningKey:
        """Make a fresh key, for rotation and for development."""
        private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        if alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        else:
            raise ValueError(f"Unsupported signing algorithm {alg}")
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return cls.from_pem(pem.decode())

    def verification(self) -> VerificationKey:
        """The public half, as published."""
        return VerificationKey(kid=self.kid, alg=self.alg, public_jwk=self.public_jwk)


class KeyRing:
    """The current signing key and the previous ones whose tokens may still be alive."""

    def __init__(self, current: SigningKey, previous: Iterable[SigningKey] = ()) -> None:
        self.current = current
        self.previous = [key for key in previous if key.kid != current.kid]

    @classmethod
    def from_pems(cls, current_pem: str, previous_pems: Iterable[str] = ()) -> KeyRing:
        """Build the ring from the PEM strings in settings."""
        return cls(SigningKey.from_pem(current_pem), [SigningKey.from_pem(pem) for pem in previous_pems])

    def verification_key(self, kid: str) -> VerificationKey | None:
        """The public key with this `kid`, current or previous."""
        for key in (self.current, *self.previous):
            if key.kid == kid:
                return key.verification()
        return None

    def jwks(self) -> dict[str, Any]:
        """The JWK Set served at `/.well-known/jwks.json`: public members only."""
        return {"keys": [dict(key.public_jwk) for key in (self.current, *self.previous)]}

    def rotate(self, new: SigningKey | None = None) -> SigningKey:
        """Make a new key current; the old one keeps verifying until `retire` drops it."""
        new = new or SigningKey.generate(self.current.alg)
        self.previous = [self.current, *(key for key in self.previous if key.kid != new.kid)]
        self.current = new
        return new

    def retire(self, kid: str) -> None:
        """Stop publishing a previous key, once every token it signed has expired."""
        if kid == self.current.kid:
            raise ValueError("The current key cannot be retired; rotate first")
        self.previous = [key for key in self.previous if key.kid != kid]


class PublishedKeys:
    """Public keys read from a JWKS, for a verifier (the gateway) that holds no private key."""

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        self._keys: dict[str, VerificationKey] = {}
        for entry in jwks.get("keys", []):
            alg = entry.get("alg")
            kid = entry.get("kid")
            # A key without a pinned asymmetric algorithm is skipped, never guessed.
            if isinstance(kid, str) and alg in SIGNING_ALGORITHMS and "d" not in entry:
                self._keys[kid] = VerificationKey(kid=kid, alg=alg, public_jwk=dict(entry))

    def verification_key(self, kid: str) -> VerificationKey | None:
        """The public key with this `kid`, if published."""
        return self._keys.get(kid)


def jwk_thumbprint(public_jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding."""
    members = ("crv", "kty", "x", "y") if public_jwk["kty"] == "EC" else ("e", "kty", "n")
    canonical = json.dumps({m: public_jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
