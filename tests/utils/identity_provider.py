"""A stand-in identity provider on a free loopback port: a discovery document and a JWKS that a test rotates,
takes down, and whose requests it counts (what the real provider would see from the gateway)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jose import jwt

from libs.common.oauth.keys import SigningKey

AUDIENCE = "alpr-gateway"


@dataclass
class Provider:
    """What the provider publishes now; a test changes it between requests."""

    keys: list[SigningKey]
    base_url: str = ""
    cache_control: str | None = "max-age=300"
    down: bool = False  # every request answers 503
    discovery_issuer: str | None = None  # the issuer its discovery document names; None: its own
    hits: dict[str, int] = field(default_factory=lambda: {"jwks": 0, "discovery": 0})

    @property
    def issuer(self) -> str:
        return self.base_url + "/realms/alpr"

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/protocol/openid-connect/certs"

    def rotate(self, new: SigningKey | None = None) -> SigningKey:
        """Publish a new key beside the old ones (as Keycloak does before it signs with it)."""
        key = new or SigningKey.generate("ES256")
        self.keys.append(key)
        return key

    def retire(self, key: SigningKey) -> None:
        self.keys = [k for k in self.keys if k.kid != key.kid]

    def token(self, key: SigningKey, *, sub: str = "officer-1", kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600, **claims}
        body["jti"] = str(uuid.uuid4())
        return jwt.encode(body, key.private_pem, algorithm=key.alg, headers={"kid": kid or key.kid})

    def answer(self, path: str) -> tuple[int, dict[str, str], bytes]:
        if self.down:
            return 503, {}, b"down"
        if path == "/realms/alpr/.well-known/openid-configuration":
            self.hits["discovery"] += 1
            document = {"issuer": self.discovery_issuer or self.issuer, "jwks_uri": self.jwks_url}
            return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()
        if path == "/realms/alpr/protocol/openid-connect/certs":
            self.hits["jwks"] += 1
            headers = {"Content-Type": "application/json"}
            if self.cache_control is not None:
                headers["Cache-Control"] = self.cache_control
            jwks = {"keys": [key.public_jwk for key in self.keys]}
            return 200, headers, json.dumps(jwks).encode()
        return 404, {}, b"not found"


@contextmanager
def serving(provider: Provider) -> Iterator[Provider]:
    """Serve `provider` over HTTP on 127.0.0.1 for the block's duration."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = provider.answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test counts hits; the console stays quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
