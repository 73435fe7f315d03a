"""Client secrets: generated random, stored only as a salted scrypt hash, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

SCHEME = "scrypt"
# RFC 7914's interactive parameters: about 16 MiB and tens of milliseconds per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
MAX_MEMORY = 64 * 1024 * 1024


def new_client_secret() -> str:
    """A fresh secret to hand to the partner once; only its hash is kept."""
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    """The stored form: `scrypt$n$r$p$salt$hash`, base64url parts."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join((SCHEME, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def verify_client_secret(secret: str, stored: str) -> bool:
    """Whether the secret matches the stored hash; a malformed hash matches nothing."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != SCHEME:
            return False
        digest = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
        return hmac.compare_digest(digest, _unb64(expected))
    except ValueError:
        return False


@cache
def decoy_hash() -> str:
    """A hash no secret matches, checked for unknown clients so they take as long as known ones."""
    return hash_client_secret(secrets.token_urlsafe(32))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=HASH_BYTES)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
