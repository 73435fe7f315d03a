"""Sharing settings: the partner API's issuer, audience and token signing keys."""

from __future__ import annotations

from pydantic import SecretStr, model_validator

from libs.common.case_numbers import DEPARTMENT_CASE_NUMBER_PATTERN, pattern_problem
from libs.common.oauth.keys import KeyRing, SigningKey
from libs.common.oauth.tokens import MAX_LIFETIME
from libs.common.settings import CommonSettings


class SharingSettings(CommonSettings):
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
