"""Settings every service shares; each service extends this class with its own fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.validation import DEFAULT_CLOCK_SKEW_S, active_retention_days, backup_margin_days, retention_cutoff


class CommonSettings(BaseSettings):
    """Read from `ALPR_*` environment variables and validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="ALPR_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    agency: str = "CA0000000"
    database_url: SecretStr = SecretStr("")
    # connections each process keeps open, and how many more it may open at a peak (libs.common.db); the
    # deployment's worst case (replicas x both) must fit PostgreSQL's max_connections (scripts/database_policy.py)
    db_pool_size: int = 10
    db_max_overflow: int = 10
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    # how long a record's owner waits for the audit service to confirm it persisted (audit_trail.py)
    # 0 would give up at once, and past a minute a request holds its connection while the audit service is down
    audit_persist_wait_ms: int = Field(default=2000, ge=1, le=60_000)
    otel_exporter_otlp_endpoint: str | None = None
    otel_console: bool = False

    @model_validator(mode="after")
    def _require_connections(self) -> CommonSettings:
        if not self.database_url.get_secret_value() and self.requires_database:
            raise ValueError("ALPR_DATABASE_URL is required")
        if not 1 <= self.db_pool_size <= 100 or not 0 <= self.db_max_overflow <= 100:
            raise ValueError("ALPR_DB_POOL_SIZE must be 1..100 and ALPR_DB_MAX_OVERFLOW 0..100")
        return self

    @property
    def requires_database(self) -> bool:
        """Services without a schema (the recognizer) override this."""
        return True

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


MAX_RETENTION_DAYS = 365


class RetentionSettings(CommonSettings):
    """How long reads are kept and how far ahead a camera's clock may run: the window a read may carry.

    The gateway (which refuses a read at the door) and records (which stores and purges it) read the same
    `ALPR_RETENTION_DAYS`, `ALPR_BACKUP_WINDOW_DAYS`, `ALPR_BACKUP_INTERVAL_DAYS`,
    `ALPR_RETENTION_CHECK_SLACK_DAYS` and `ALPR_CLOCK_SKEW_S`, so both compute one cutoff.
    """

    retention_days: int = 365
    # the backups' recovery window: the ObjectStore's retentionPolicy (deploy/k8s/base/postgres/objectstore.yaml)
    backup_window_days: int = 7
    # days between base backups (the ScheduledBackup): the last backup before the window is kept until the next
    backup_interval_days: int = 1
    # how late the retention check may delete an expired backup after it expired
    retention_check_slack_days: int = 1
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S

    @model_validator(mode="after")
    def _retention_within_law(self) -> RetentionSettings:
        if not 1 <= self.retention_days <= MAX_RETENTION_DAYS:
            raise ValueError(f"ALPR_RETENTION_DAYS must be 1..{MAX_RETENTION_DAYS}, got {self.retention_days}")
        if min(self.backup_window_days, self.backup_interval_days, self.retention_check_slack_days) < 0:
            raise ValueError("ALPR_BACKUP_WINDOW_DAYS, ALPR_BACKUP_INTERVAL_DAYS, ALPR_RETENTION_CHECK_SLACK_DAYS: 0+")
        if self.active_retention_days < 1:
            raise ValueError(
                f"backups would outlive the retention period: {self.retention_days} − ({self.backup_window_days} + "
                f"{self.backup_interval_days} + {self.retention_check_slack_days}) leaves no day in the live database"
            )
        if not 0 <= self.clock_skew_s <= 86_400:
            raise ValueError("ALPR_CLOCK_SKEW_S must be 0..86400 seconds")
        return self

    @property
    def backup_margin_days(self) -> int:
        """Days a backup may hold a read after the live database purged it: window + interval + check slack."""
        return backup_margin_days(
            recovery_window_days=self.backup_window_days,
            backup_interval_days=self.backup_interval_days,
            check_slack_days=self.retention_check_slack_days,
        )

    @property
    def active_retention_days(self) -> int:
        """Days a read stays in the live database, so that backups never outlive the retention period."""
        return active_retention_days(
            self.retention_days,
            recovery_window_days=self.backup_window_days,
            backup_interval_days=self.backup_interval_days,
            check_slack_days=self.retention_check_slack_days,
        )

    def retention_periods(self, now: datetime) -> dict[str, Any]:
        """The periods and the cutoff the purge applies now, as the transparency page publishes them."""
        return {
            "retention_days": self.retention_days,
            "backup_window_days": self.backup_window_days,
            "backup_interval_days": self.backup_interval_days,
            "retention_check_slack_days": self.retention_check_slack_days,
            "backup_margin_days": self.backup_margin_days,
            "active_retention_days": self.active_retention_days,
            "reads_kept_since": retention_cutoff(now, self.active_retention_days),
        }
