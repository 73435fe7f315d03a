"""The development identity provider: an RSA key in the data folder that mints OIDC-style tokens."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

from libs.common.tokens import DEVELOPMENT_ISSUER, DEVELOPMENT_KID_PREFIX

DEV_ISSUER = DEVELOPMENT_ISSUER
DEV_AUDIENCE = "alpr-gateway"


class DevIssuer:
    """Keys live in `<data>/dev-issuer/`; the gateway trusts them only when told to (never in production)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key_path = folder / "signing-key.pem"
        self.jwks_path = folder / "jwks.json"

    def ensure_keys(self) -> None:
        if self.key_path.exists() and self.jwks_path.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.key_path.write_bytes(pem)
        self.key_path.chmod(0o600)
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        public_jwk = jwk.construct(public, "RS256").to_dict()
        public_jwk.update(kid=f"{DEVELOPMENT_KID_PREFIX}{uuid.uuid4().hex[:8]}", use="sig", alg="RS256")
        self.jwks_path.write_text(json.dumps({"keys": [public_jwk]}, indent=2))

    @property
    def kid(self) -> str:
        return str(json.loads(self.jwks_path.read_text())["keys"][0]["kid"])

    def mint(
        self,
        sub: str,
        *,
        ttl_s: int = 3600,
        extra: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A signed access token for `sub` from the development issuer."""
        now = int(time.time())
        claims = {
            "iss": DEV_ISSUER,
            "aud": DEV_AUDIENCE,
            "sub": sub,
            "iat": now,
            "exp": now + ttl_s,
            "jti": str(uuid.uuid4()),
            **(extra or {}),
        }
        return jwt.encode(
            claims, self.key_path.read_text(), algorithm="RS256", headers={"kid": self.kid, **(headers or {})}
        )
