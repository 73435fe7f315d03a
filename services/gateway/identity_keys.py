"""The identity provider's signing keys, fetched from its JWKS URL or found through OIDC discovery.

Keycloak, Entra ID and Okta rotate their keys on their own schedule: the gateway keeps the published set for as
long as the provider's cache headers say (within a floor and a ceiling), fetches it again when a token names a
key it does not know, and keeps the last good set when the provider cannot be reached. Every fetch, whatever
asked for it, waits for at least `min_interval_s` after the previous one and is shared by every request waiting
on it, so a flood of forged `kid`s costs the provider one request per interval.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from libs.common import metrics
from libs.common.errors import Unavailable
from libs.common.tokens import signing_keys

log = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
# a provider's JWKS is a few kilobytes; anything far larger is not one
MAX_DOCUMENT_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """How long a fetched key set is trusted and how often the provider may be asked."""

    min_cache_s: float = 60.0  # a `no-cache` or `max-age=0` provider is still asked at most this often
    max_cache_s: float = 24 * 3600.0  # a removed (compromised) key leaves within a day whatever the headers say
    default_cache_s: float = 3600.0  # no cache headers at all
    min_interval_s: float = 30.0  # between two fetches, whatever asked for them
    timeout_s: float = 5.0


def cache_lifetime(headers: Mapping[str, str], policy: FetchPolicy, *, now: float) -> float:
    """Seconds a response may be kept: Cache-Control max-age (less Age), else Expires, else the default;
    always within the policy's floor and ceiling. `now` is the wall clock (Expires is a date)."""
    directives = {
        name.strip().lower(): value.strip().strip('"')
        for name, _, value in (part.partition("=") for part in headers.get("cache-control", "").split(","))
    }
    lifetime = policy.default_cache_s
    if "no-store" in directives or "no-cache" in directives:
        lifetime = 0.0
    elif directives.get("max-age", "").isdigit():
        age = headers.get("age", "0")
        lifetime = float(directives["max-age"]) - (float(age) if age.isdigit() else 0.0)
    elif "expires" in headers:
        try:
            lifetime = email.utils.parsedate_to_datetime(headers["expires"]).timestamp() - now
        except (TypeError, ValueError):
            lifetime = 0.0  # RFC 9111: an Expires that is not a date means already expired
    return min(max(lifetime, policy.min_cache_s), policy.max_cache_s)


class ProviderKeys:
    """The provider's published keys (a KeySource for libs.common.tokens.TokenVerifier)."""

    def __init__(
        self,
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        policy: FetchPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if (jwks_url is None) == (issuer is None):
            raise ValueError("ProviderKeys takes a JWKS URL or an issuer to discover it from, not both")
        self.issuer = issuer
        self.jwks_url = jwks_url  # from discovery, on the first fetch, when an issuer is given
        self.policy = policy or FetchPolicy()
        self._client = client or httpx.AsyncClient(timeout=self.policy.timeout_s, follow_redirects=False)
        self._clock = clock
        self._wall_clock = wall_clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None  # monotonic time of the last good fetch
        self._expires_at = float("-inf")
        self._attempted_at = float("-inf")
        self._fetching = asyncio.Lock()
        self.fetches = 0  # attempts, good or not: what the provider saw from this replica

    async def start(self) -> None:
        """The first fetch, at start-up. A provider that is down does not stop the gateway (camera posts need
        no person's token); people's tokens are refused until a later fetch succeeds."""
        await self._refresh(force=True)

    async def close(self) -> None:
        await self._client.aclose()

    async def key(self, kid: str) -> dict[str, Any] | None:
        """The published key with this id; fetched again when the set has expired or the id is unknown."""
        found = self._keys.get(kid)
        if found is not None and self._fetching.locked():
            return found  # a fetch is on its way; a key we hold needs no wait for it
        if self._clock() >= self._expires_at or found is None:
            await self._refresh()
            found = self._keys.get(kid)
        return found

    def staleness_s(self) -> float | None:
        """Seconds since the key set in use was fetched; None before the first good fetch."""
        return None if self._fetched_at is None else self._clock() - self._fetched_at

    async def _refresh(self, *, force: bool = False) -> None:
        """One fetch for every caller waiting now, and none within `min_interval_s` of the previous one."""
        async with self._fetching:
            if not force and self._clock() - self._attempted_at < self.policy.min_interval_s:
                return  # fetched (or tried) just now, perhaps by the request we waited behind
            self._attempted_at = self._clock()
            self.fetches += 1
            try:
                keys, lifetime = await self._fetch()
            except (httpx.HTTPError, Unavailable) as exc:
                metrics.OIDC_KEY_FETCHES.labels("failed").inc()
                if self.issuer is not None:
                    self.jwks_url = None  # discover again next time: the provider may have moved its keys
                stale = self.staleness_s()
                log.warning(
                    "could not fetch the identity provider's keys (%s); %s",
                    exc,
                    "no key set yet: people's tokens are refused"
                    if stale is None
                    else f"keeping the key set fetched {stale:.0f} s ago",
                )
                return
            self._keys = keys
            self._fetched_at = self._clock()
            self._expires_at = self._fetched_at + lifetime
            metrics.OIDC_KEY_FETCHES.labels("fetched").inc()
            metrics.OIDC_KEYS_FETCHED_AT.set(self._wall_clock())

    async def _fetch(self) -> tuple[dict[str, dict[str, Any]], float]:
        """The provider's signing keys and how long to keep them; Unavailable when it gives none we can use."""
        if self.jwks_url is None:
            self.jwks_url = await self._discover()
        headers, document = await self._get(self.jwks_url)
        keys = signing_keys(document)
        if not keys:
            raise Unavailable("the provider's JWKS holds no usable signing key", code="identity_keys_unusable")
        return keys, cache_lifetime(headers, self.policy, now=self._wall_clock())

    async def _discover(self) -> str:
        """The `jwks_uri` of the issuer's discovery document, which must name this very issuer (OIDC
        Discovery 1.0 §4.3: a document for another issuer is an impersonation attempt)."""
        assert self.issuer is not None
        _, document = await self._get(self.issuer.rstrip("/") + DISCOVERY_PATH)
        if not isinstance(document, dict) or document.get("issuer") != self.issuer:
            raise Unavailable("the discovery document names another issuer", code="identity_issuer_mismatch")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise Unavailable("the discovery document names no jwks_uri", code="identity_keys_unusable")
        return jwks_uri

    async def _get(self, url: str) -> tuple[httpx.Headers, object]:
        """A JSON document and its headers; its size is bounded while it is read, not after."""
        async with self._client.stream("GET", url, headers={"Accept": "application/json"}) as response:
            response.raise_for_status()  # a redirect too: the operator names the provider's address
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise Unavailable("the provider's document is too large", code="identity_keys_unusable")
        try:
            return response.headers, json.loads(body)
        except ValueError as exc:
            raise Unavailable("the provider's document is not JSON", code="identity_keys_unusable") from exc
