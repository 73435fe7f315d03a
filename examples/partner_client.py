"""A partner agency's client for the SJPD ALPR partner API: get a token, search, exchange hotlists.

    export ALPR_PARTNER_CLIENT_SECRET=...   # or pass --private-key for private_key_jwt
    python examples/partner_client.py --base-url https://alpr.example --client-id cl-123 \
        search --plate 8ABC123 --since 2026-11-01T00:00:00Z --until 2026-11-28T00:00:00Z \
        --requester-name "Det. R. Diaz" --badge 4412 --agency-ori CA0410000 --agency-name "SCC Sheriff" \
        --use stolen_or_wanted_vehicle --case-number SC-2026-1187 --reason "Stolen vehicle, report 11/27"
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
from jose import jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# Fetch a new token this long before the old one expires, so a request never carries a dying one.
EXPIRY_MARGIN_S = 30


class PartnerClient:
    """Holds one agreement-scoped token at a time and renews it before, or on, expiry."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        private_key_pem: str | None = None,
        key_id: str | None = None,
        algorithm: str = "ES256",
        scope: str | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if (client_secret is None) == (private_key_pem is None):
            raise ValueError("Give either a client secret or a private key, not both")
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self.token_url = f"{base_url.rstrip('/')}/oauth/token"
        self.client_id, self.client_secret, self.scope = client_id, client_secret, scope
        self.private_key_pem, self.key_id, self.algorithm = private_key_pem, key_id, algorithm
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        """A token that is good for at least the next half minute."""
        if self._token is None or time.time() >= self._expires_at - EXPIRY_MARGIN_S:
            self._fetch_token()
        assert self._token is not None
        return self._token

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /partner/v1/searches: plate, window, requester, agency, beneficiary and purpose."""
        return self._call("POST", "/partner/v1/searches", json=body)

    def hotlists(self) -> dict[str, Any]:
        """GET /partner/v1/hotlists: the entries SJPD shares with this agreement."""
        return self._call("GET", "/partner/v1/hotlists")

    def put_hotlist(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """PUT /partner/v1/hotlists: our entries; SJPD drops any not refreshed within 24 hours."""
        return self._call("PUT", "/partner/v1/hotlists", json={"entries": entries})

    def _fetch_token(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {}
        if self.client_secret is not None:
            # RFC 6749 §2.3.1: form-encode id and secret before Basic; httpx's BasicAuth does not.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_assertion_type"] = ASSERTION_TYPE
            form["client_assertion"] = self._client_assertion()
        response = self.http.post(self.token_url, data=form, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"token refused ({response.status_code}): {response.text}")
        body = response.json()
        self._token = body["access_token"]
        self._expires_at = time.time() + int(body["expires_in"])

    def _client_assertion(self) -> str:
        # RFC 7523: iss = sub = our client id, aud = the token endpoint, short exp, a fresh jti each time.
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + 60,
            "jti": str(uuid.uuid4()),
        }
        headers = {"kid": self.key_id} if self.key_id else None
        return jwt.encode(claims, self.private_key_pem, algorithm=self.algorithm, headers=headers)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, path, headers=self._auth(), **kwargs)
        if response.status_code == 401:
            # The token may have been cut short (key rotation, clock skew): renew once and retry.
            self._token = None
            response = self.http.request(method, path, headers=self._auth(), **kwargs)
        if response.is_error:
            raise SystemExit(f"{method} {path} refused ({response.status_code}): {response.text}")
        return response.json() if response.content else {}

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


def search_body(args: argparse.Namespace) -> dict[str, Any]:
    """The search request: who asks, for which agency, on whose behalf, and why."""
    return {
        "plate": args.plate,
        "since": args.since,
        "until": args.until,
        "requester": {"name": args.requester_name, "badge": args.badge},
        "agency": {"ori": args.agency_ori, "name": args.agency_name},
        "on_behalf_of": {"ori": args.for_ori or args.agency_ori, "name": args.for_name or args.agency_name},
        "purpose": {"use": args.use, "case_number": args.case_number, "reason": args.reason},
    }


def parser() -> argparse.ArgumentParser:
    """The command line: connection options, then one of token, search, hotlists, put-hotlist."""
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("--base-url", required=True)
    cli.add_argument("--client-id", required=True)
    cli.add_argument("--private-key", type=Path, help="PEM key for private_key_jwt (else client secret)")
    cli.add_argument("--key-id", help="kid of the registered public key")
    cli.add_argument("--algorithm", default="ES256", choices=["ES256", "RS256"])
    cli.add_argument("--scope", help="space-separated; default: all the agreement grants")
    commands = cli.add_subparsers(dest="command", required=True)
    commands.add_parser("token", help="print a fresh access token")
    search = commands.add_parser("search", help="search reads of one plate")
    for name in ("plate", "since", "until", "requester-name", "badge", "agency-ori", "agency-name"):
        search.add_argument(f"--{name}", required=True)
    search.add_argument("--for-ori", help="ORI of the agency the search is for (default: --agency-ori)")
    search.add_argument("--for-name", help="name of the agency the search is for")
    search.add_argument("--use", required=True, help="authorized use, e.g. stolen_or_wanted_vehicle")
    search.add_argument("--case-number", required=True)
    search.add_argument("--reason", required=True)
    commands.add_parser("hotlists", help="fetch the hotlist entries shared with us")
    put = commands.add_parser("put-hotlist", help="send our hotlist entries (JSON list in a file)")
    put.add_argument("--file", type=Path, required=True)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Run one command and print its JSON answer."""
    args = parser().parse_args(argv)
    # The secret comes from the environment, not the command line, so it stays out of shell history.
    secret = None if args.private_key else os.environ.get("ALPR_PARTNER_CLIENT_SECRET")
    if args.private_key is None and not secret:
        raise SystemExit("set ALPR_PARTNER_CLIENT_SECRET or pass --private-key")
    client = PartnerClient(
        args.base_url,
        args.client_id,
        client_secret=secret,
        private_key_pem=args.private_key.read_text() if args.private_key else None,
        key_id=args.key_id,
        algorithm=args.algorithm,
        scope=args.scope,
    )
    if args.command == "token":
        print(client.token())
        return
    if args.command == "search":
        result = client.search(search_body(args))
    elif args.command == "hotlists":
        result = client.hotlists()
    else:
        result = client.put_hotlist(json.loads(args.file.read_text()))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
