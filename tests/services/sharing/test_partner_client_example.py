"""The example partner client talks to the token endpoint and partner API built from the pure core."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from libs.common.errors import AlprError
from libs.common.oauth.keys import KeyRing, SigningKey
from libs.common.oauth.tokens import issue_access_token, verify_access_token
from services.sharing.oauth.client_auth import (
    OAuthClient,
    authenticate_client,
    grant_scopes,
    parse_token_request,
)
from services.sharing.oauth.client_secrets import hash_client_secret

BASE = "https://alpr.sjpd.example"
AUDIENCE = f"{BASE}/partner/v1"
EXAMPLE = Path(__file__).parents[3] / "examples" / "partner_client.py"


def load_example():
    spec = importlib.util.spec_from_file_location("partner_client_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PartnerApi:
    """A stand-in for the gateway and sharing service, wired from the pure functions."""

    def __init__(self, clients: dict[str, OAuthClient], agreement) -> None:
        self.clients, self.agreement = clients, agreement
        self.keyring = KeyRing(SigningKey.generate("ES256"))
        self.seen: list[dict] = []
        self.token_requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = datetime.now(UTC)
        try:
            if request.url.path == "/oauth/token":
                return self.token(request, now)
            auth = request.headers.get("Authorization", "")
            claims = verify_access_token(
                auth.removeprefix("Bearer "), self.keyring, issuer=BASE, audience=AUDIENCE, now=now
            )
        except AlprError as err:
            return httpx.Response(err.status, json=err.to_body(), headers=getattr(err, "headers", {}))
        body = json.loads(request.content) if request.content else None
        self.seen.append({"method": request.method, "path": request.url.path, "body": body, "scopes": claims.scopes})
        return httpx.Response(200, json={"ok": True})

    def token(self, request: httpx.Request, now: datetime) -> httpx.Response:
        self.token_requests += 1
        form = dict(parse_qsl(request.content.decode()))
        parsed = parse_token_request(form, request.headers.get("Authorization"))
        client = self.clients.get(parsed.client_id)
        authenticated = authenticate_client(parsed, client, token_endpoint=f"{BASE}/oauth/token", now=now)
        scopes = grant_scopes(parsed.scopes, authenticated.client, self.agreement, now=now)
        issued = issue_access_token(
            self.keyring,
            issuer=BASE,
            audience=AUDIENCE,
            client_id=authenticated.client.client_id,
            agreement_id=self.agreement.id,
            scopes=scopes,
            now=now,
        )
        return httpx.Response(200, json=issued.response_body(), headers={"Cache-Control": "no-store"})


@pytest.fixture
def live_agreement(agreement):
    # The shared fixture is pinned to a fixed clock; the example client runs on the real one.
    now = datetime.now(UTC)
    return agreement.model_copy(
        update={
            "effective_from": now.replace(year=now.year - 1),
            "expires_at": now.replace(year=now.year + 1),
        }
    )


class TestExamplePartnerClient:
    def test_secret_basic_search_and_hotlists(self, live_agreement):
        client = OAuthClient(
            client_id="cl 1",
            agreement_id=live_agreement.id,
            auth_method="client_secret_basic",
            secret_hash=hash_client_secret("pa:ss+w%rd"),
        )
        api = PartnerApi({"cl 1": client}, live_agreement)
        example = load_example()
        partner = example.PartnerClient(BASE, "cl 1", client_secret="pa:ss+w%rd", transport=httpx.MockTransport(api))
        partner.search({"plate": "8ABC123"})
        partner.hotlists()
        assert [(s["method"], s["path"]) for s in api.seen] == [
            ("POST", "/partner/v1/searches"),
            ("GET", "/partner/v1/hotlists"),
        ]
        assert api.seen[0]["body"] == {"plate": "8ABC123"}
        assert api.token_requests == 1

    def test_private_key_jwt_and_renewal_after_a_refused_token(self, live_agreement):
        key = SigningKey.generate("ES256")
        client = OAuthClient(
            client_id="cl-2",
            agreement_id=live_agreement.id,
            auth_method="private_key_jwt",
            public_jwk=key.public_jwk,
        )
        api = PartnerApi({"cl-2": client}, live_agreement)
        example = load_example()
        partner = example.PartnerClient(
            BASE, "cl-2", private_key_pem=key.private_pem, key_id=key.kid, transport=httpx.MockTransport(api)
        )
        partner.put_hotlist([{"plate": "7XYZ999", "state": "CA"}])
        api.keyring = KeyRing(SigningKey.generate("ES256"))  # the server lost the old key: 401, renew, retry
        partner.hotlists()
        assert api.token_requests == 2
        assert api.seen[0]["body"] == {"entries": [{"plate": "7XYZ999", "state": "CA"}]}

    def test_bad_secret_stops_with_the_rfc_6749_error(self, live_agreement):
        client = OAuthClient(
            client_id="cl-3",
            agreement_id=live_agreement.id,
            auth_method="client_secret_basic",
            secret_hash=hash_client_secret("right"),
        )
        example = load_example()
        partner = example.PartnerClient(
            BASE,
            "cl-3",
            client_secret="wrong",
            transport=httpx.MockTransport(PartnerApi({"cl-3": client}, live_agreement)),
        )
        with pytest.raises(SystemExit, match="invalid_client"):
            partner.hotlists()
