"""Audit settings: the checkpoint signing key comes from here, never from the database."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, SecretStr, model_validator

from libs.common.settings import CommonSettings
from services.audit.ledger.checkpoints import load_public_key, load_signing_key


class AuditSettings(CommonSettings):
    audit_signing_key: SecretStr | None = None  # Ed25519 private key, PEM or base64 raw
    audit_public_keys: str = ""  # earlier keys still trusted for old checkpoints, comma-separated base64
    checkpoint_every: int = 1000
    checkpoint_interval_s: float = 60.0
    writer_batch: int = Field(default=500, ge=1, le=10_000)  # events per transaction
    retention_years: int = 2
    audit_timezone: str = "America/Los_Angeles"  # the local clock of off-hours and the auditors' days
    # how often acknowledged events are checked against the log: a minute to a day
    completeness_check_s: float = Field(default=3600.0, ge=60, le=86_400)
    # the periodic verification of the whole log (verify_job.py); AlprAuditVerifyStale assumes the default
    audit_verify_interval_s: float = 3600.0

    @model_validator(mode="after")
    def _signing_key_in_production(self) -> AuditSettings:
        if self.is_production and self.audit_signing_key is None:
            raise ValueError("ALPR_AUDIT_SIGNING_KEY (the checkpoint key) is required in production")
        if self.audit_signing_key is not None:
            self.signing_key()  # an unreadable key refuses start-up rather than the first checkpoint
        if self.retention_years < 2:
            raise ValueError("audit records are kept at least two years")
        if self.checkpoint_every < 1 or self.checkpoint_interval_s <= 0:
            raise ValueError("checkpoints need a positive record count and interval")
        if not 60 <= self.audit_verify_interval_s <= 86400:
            raise ValueError("ALPR_AUDIT_VERIFY_INTERVAL_S must be 60..86400 (a minute to a day)")
        return self

    def signing_key(self) -> Ed25519PrivateKey | None:
        """The checkpoint key, parsed."""
        if self.audit_signing_key is None:
            return None
        return load_signing_key(self.audit_signing_key.get_secret_value())

    def verification_keys(self) -> list[Ed25519PublicKey]:
        """Every key a checkpoint of this log may carry: the current one and the retired ones."""
        keys = [load_public_key(text) for text in self.audit_public_keys.split(",") if text.strip()]
        current = self.signing_key()
        return keys + ([current.public_key()] if current is not None else [])
