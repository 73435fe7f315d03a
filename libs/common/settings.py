"""Settings every service shares; each service extends this class with its own fields."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Read from `ALPR_*` environment variables and validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="ALPR_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    agency: str = "CA0000000"
    database_url: SecretStr = SecretStr("")
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    request_timeout_s: float = 5.0
    # how long a record's owner waits for the audit service to confirm it persisted (audit_trail.py)
    audit_persist_wait_ms: int = 2000
    otel_exporter_otlp_endpoint: str | None = None
    otel_console: bool = False

    @model_validator(mode="after")
    def _require_connections(self) -> CommonSettings:
        if not self.database_url.get_secret_value() and self.requires_database:
            raise ValueError("ALPR_DATABASE_URL is required")
        return self

    @property
    def requires_database(self) -> bool:
        """Services without a schema (the recognizer) override this."""
        return True

    @property
    def is_production(self) -> bool:
        return self.environment == "production"
