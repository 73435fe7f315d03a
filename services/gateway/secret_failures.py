"""Wrong camera and partner client secrets: counted per client id and per source address, then 429.

After `ALPR_SECRET_FAILURES_PER_CLIENT` failures naming one client id, or `…_PER_ADDRESS` from one address,
within `ALPR_SECRET_FAILURE_WINDOW_S`, every attempt from that id or address is refused with 429 and
Retry-After until the oldest failure leaves the window, before any secret is checked. The failure that
trips a limit is an `access_denied` audit record (the client id, the address, never the secret).

Counts live in memory in each gateway replica (unlike the rate buckets, which ratelimit.py shares through
the database): N replicas allow up to N times the failures. A throttled id also refuses its owner's right
secret for the rest of the window; the per-address limit is the higher one, since several cameras of a site
may share one address.
"""

from __future__ import annotations

import base64
import binascii
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Literal
from urllib.parse import unquote_plus

from jose import jwt as jose_jwt
from jose.exceptions import JOSEError

from libs.common import metrics
from libs.common.audit_trail import AuditTrail
from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.errors import RateLimited
from services.gateway.settings import GatewaySettings

Kind = Literal["camera", "partner"]
MAX_KEYS = 100_000  # beyond this, keys with no failure in the window are dropped so memory stays bounded
MAX_CLIENT_ID = 200  # the caller's text: kept no longer than any id we issue


class SecretFailures:
    """The recent failures of each (kind, client id) and (kind, address), newest last."""

    def __init__(self, settings: GatewaySettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._failures: dict[tuple[str, str, str], deque[float]] = {}

    def _limits(self, kind: Kind, client_id: str, address: str) -> list[tuple[tuple[str, str, str], int]]:
        keys: list[tuple[tuple[str, str, str], int]] = [
            ((kind, "address", address), self.settings.secret_failures_per_address)
        ]
        if client_id:
            keys.append(((kind, "client", client_id[:MAX_CLIENT_ID]), self.settings.secret_failures_per_client))
        return keys

    def check(self, kind: Kind, *, client_id: str, address: str) -> None:
        """Raise RateLimited when the id or the address has had its failures in the window."""
        if not self._failures:
            return  # no failure is held for any key, so none can be throttled (every post of a healthy fleet)
        now = self._clock()
        window = self.settings.secret_failure_window_s
        for key, limit in self._limits(kind, client_id, address):
            failures = self._failures.get(key)
            if failures is not None and len(failures) >= limit and now - failures[-limit] < window:
                retry_after = max(1, math.ceil(failures[-limit] + window - now))
                metrics.DENIED.labels(f"{kind}_secret_throttled").inc()
                raise RateLimited(
                    f"too many failed {kind} credentials from this {key[1]}; retry after {retry_after} s",
                    code="too_many_failures",
                    limit=f"{kind}_{key[1]}",
                    retry_after_s=retry_after,
                    headers={"Retry-After": retry_after},
                )

    def failed(self, kind: Kind, *, client_id: str, address: str) -> list[str]:
        """Count one failure; return the scopes ("client", "address") whose limit it has just reached."""
        now = self._clock()
        if len(self._failures) >= MAX_KEYS:
            self._forget_old(now)
        reached = []
        for key, limit in self._limits(kind, client_id, address):
            failures = self._failures.setdefault(key, deque(maxlen=limit))
            failures.append(now)
            if len(failures) == limit and now - failures[0] < self.settings.secret_failure_window_s:
                reached.append(key[1])
        return reached

    def _forget_old(self, now: float) -> None:
        window = self.settings.secret_failure_window_s
        for key in [k for k, failures in self._failures.items() if now - failures[-1] >= window]:
            del self._failures[key]


async def count_secret_failure(
    failures: SecretFailures, audit: AuditTrail, kind: Kind, *, client_id: str, address: str
) -> None:
    """Count a wrong secret; when it trips a limit, write the access-denied record."""
    reached = failures.failed(kind, client_id=client_id, address=address)
    if not reached:
        return
    settings = failures.settings
    await audit.record_quietly(
        AuditEvent(
            event_type=EventType.ACCESS_DENIED,
            actor=Actor(kind=kind, sub=client_id[:MAX_CLIENT_ID] or "unknown"),
            client_address=address,
            query={"client_id": client_id[:MAX_CLIENT_ID]},
            outcome="denied",
            details={
                "reason": "secret_failures",
                "throttled": reached,
                "failures_per_client": settings.secret_failures_per_client,
                "failures_per_address": settings.secret_failures_per_address,
                "window_s": settings.secret_failure_window_s,
            },
        )
    )


def claimed_client_id(authorization: str | None, form: dict[str, list[str]]) -> str:
    """The client id a token request names (Basic user, assertion `iss` or `client_id`), unverified; "" if none.

    Only a key for counting failures: sharing authenticates the request.
    """
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            return unquote_plus(base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0])
        except (binascii.Error, UnicodeDecodeError):
            return ""
    assertion = form.get("client_assertion", [""])[0]
    if assertion:
        try:
            return str(jose_jwt.get_unverified_claims(assertion).get("iss", ""))
        except (JOSEError, AttributeError, RecursionError):
            return ""
    return form.get("client_id", [""])[0]
