"""Sharing settings: the partner API's issuer, audience and token signing keys."""

from __future__ import annotations

from pydantic import SecretStr

from libs.common.settings import CommonSettings


class SharingSettings(CommonSettings):
    partner_issuer: str = "http://127.0.0.1/partner"
    partner_audience: str = "alpr-partner-api"
    sharing_signing_keys: SecretStr | None = None  # PEM keys, newest first, separated by blank lines
    token_ttl_s: int = 600
