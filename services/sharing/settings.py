"""Sharing settings: the partner API's issuer, audience and token signing keys."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import SecretStr, model_validator

from libs.common.case_numbers import DEPARTMENT_CASE_NUMBER_PATTERN, pattern_problem
from libs.common.oauth.keys import KeyRing, SigningKey
from libs.common.oauth.tokens import MAX_LIFETIME
from libs.common.settings import CommonSettings


class SharingSettings(CommonSettings):
    # the `iss` of partners' tokens: the development default names this machine, refused in production
    partner_issuer: str = "http://127.0.0.1/partner"
    partner_audience: str = "alpr-partner-api"
    sharing_signing_keys: SecretStr | None = None  # PEM keys, newest first, separated by blank lines
    token_ttl_s: int = 300
    # Where partners post for tokens, as they see it: the `aud` of their private_key_jwt assertions.
    # Unset, the URL the gateway was reached at is used; deployments behind a proxy should set it.
    partner_token_endpoint: str | None = None
    # the department's case-number format (the gateway's ALPR_CASE_NUMBER_PATTERN), for partners whose
    # agreement names none of its own
    case_number_pattern: str = DEPARTMENT_CASE_NUMBER_PATTERN

    @model_validator(mode="after")
    def _keys_and_lifetime(self) -> SharingSettings:
        if not 0 < self.token_ttl_s <= MAX_LIFETIME.total_seconds():
            raise ValueError(f"ALPR_TOKEN_TTL_S must be between 1 and {int(MAX_LIFETIME.total_seconds())}")
        if self.is_production and self.sharing_signing_keys is None:
            raise ValueError("ALPR_SHARING_SIGNING_KEYS is required in production (tokens must survive restarts)")
        if self.is_production and is_local_address(self.partner_issuer):
            raise ValueError(
                f"ALPR_PARTNER_ISSUER {self.partner_issuer!r} names no host partners can reach (loopback or none), "
                "refused in production: set the https:// URL partners reach the API at"
            )
        problem = pattern_problem(self.case_number_pattern)
        if problem:
            raise ValueError(f"ALPR_CASE_NUMBER_PATTERN: {problem}")
        return self

    def keyring(self) -> KeyRing:
        """The configured keys, newest first; outside production an ephemeral key when none is set."""
        if self.sharing_signing_keys is None:
            return KeyRing(SigningKey.generate("ES256"))
        marker = "-----BEGIN"
        pems = [marker + part for part in self.sharing_signing_keys.get_secret_value().split(marker)[1:]]
        return KeyRing.from_pems(pems[0].strip() + "\n", [pem.strip() + "\n" for pem in pems[1:]])


def is_local_address(url: str) -> bool:
    """Whether a URL's host is loopback, unspecified or missing: no partner could resolve it to us."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
