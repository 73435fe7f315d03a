"""Audit settings: the checkpoint signing key comes from here, never from the database."""

from __future__ import annotations

from pydantic import SecretStr, model_validator

from libs.common.settings import CommonSettings


class AuditSettings(CommonSettings):
    audit_signing_key: SecretStr | None = None  # Ed25519 private key, PEM or base64 raw
    checkpoint_every: int = 1000
    checkpoint_interval_s: float = 60.0
    writer_batch: int = 500
    retention_years: int = 2

    @model_validator(mode="after")
    def _signing_key_in_production(self) -> AuditSettings:
        if self.is_production and self.audit_signing_key is None:
            raise ValueError("ALPR_AUDIT_SIGNING_KEY (the checkpoint key) is required in production")
        if self.retention_years < 2:
            raise ValueError("audit records are kept at least two years")
        return self
