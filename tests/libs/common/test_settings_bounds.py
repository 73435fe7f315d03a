"""Settings out of their safe range refuse start-up: a purge that never waits, a lockout that counts nothing."""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel, ValidationError

from services.audit.settings import AuditSettings
from services.gateway.settings import GatewaySettings
from services.records.settings import RecordsSettings
from services.sharing.settings import SharingSettings

REQUIRED = {
    "ALPR_DATABASE_URL": "postgresql+asyncpg://u:p@127.0.0.1/db",
    "ALPR_OIDC_ISSUER": "https://sso.example.org/realms/alpr",
    "ALPR_OIDC_JWKS_URL": "https://sso.example.org/realms/alpr/certs",
}
REFUSED = [
    (RecordsSettings, "ALPR_PURGE_INTERVAL_S", "-1"),
    (RecordsSettings, "ALPR_PURGE_INTERVAL_S", "0"),
    (RecordsSettings, "ALPR_PURGE_INTERVAL_S", "31536000"),  # a year
    (RecordsSettings, "ALPR_PARTITIONS_AHEAD_DAYS", "0"),
    (RecordsSettings, "ALPR_SEARCH_RESULT_CAP", "0"),
    (RecordsSettings, "ALPR_FRAME_READ_TIMEOUT_S", "60"),  # the FRAMES ack wait
    (GatewaySettings, "ALPR_LOCKOUT_WINDOW_S", "0"),  # counts no failure: lockout off
    (GatewaySettings, "ALPR_LOCKOUT_FAILURES", "1000000000"),
    (GatewaySettings, "ALPR_LOCKOUT_FAILURES", "0"),
    (GatewaySettings, "ALPR_APPROVAL_VALID_HOURS", "87600"),  # ten years
    (GatewaySettings, "ALPR_APPROVAL_VALID_HOURS", "0"),
    (GatewaySettings, "ALPR_INACTIVITY_SUSPEND_DAYS", "36500"),
    (GatewaySettings, "ALPR_BROAD_WINDOW_DAYS", "100000"),
    (GatewaySettings, "ALPR_MIN_REASON_LENGTH", "0"),
    (GatewaySettings, "ALPR_RATE_PERSON_PER_MINUTE", "0"),
    (GatewaySettings, "ALPR_MAX_BODY_BYTES", "1073741824"),  # past nats.conf's max_payload
    (GatewaySettings, "ALPR_AUDIT_PERSIST_WAIT_MS", "0"),
    (AuditSettings, "ALPR_COMPLETENESS_CHECK_S", "0"),
    (AuditSettings, "ALPR_WRITER_BATCH", "0"),
]
ACCEPTED = [
    (RecordsSettings, "ALPR_PURGE_INTERVAL_S", "3600"),
    (RecordsSettings, "ALPR_PURGE_INTERVAL_S", "86400"),
    (GatewaySettings, "ALPR_LOCKOUT_WINDOW_S", "900"),
    (GatewaySettings, "ALPR_APPROVAL_VALID_HOURS", "72"),
    (GatewaySettings, "ALPR_INACTIVITY_SUSPEND_DAYS", "365"),
    (GatewaySettings, "ALPR_RATE_PERSON_PER_MINUTE", "1000000"),  # the test stacks' "unlimited"
]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.upper().startswith("ALPR_")]:
        monkeypatch.delenv(name)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)


class TestBounds:
    @pytest.mark.parametrize(("settings", "name", "value"), REFUSED)
    def test_out_of_range_refuses_start_up(
        self, monkeypatch: pytest.MonkeyPatch, settings: type[BaseModel], name: str, value: str
    ) -> None:
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError) as refused:
            settings()
        assert name.removeprefix("ALPR_").lower() in str(refused.value)

    @pytest.mark.parametrize(("settings", "name", "value"), ACCEPTED)
    def test_in_range_starts(
        self, monkeypatch: pytest.MonkeyPatch, settings: type[BaseModel], name: str, value: str
    ) -> None:
        monkeypatch.setenv(name, value)
        assert getattr(settings(), name.removeprefix("ALPR_").lower()) == float(value)


class TestPartnerIssuer:
    @pytest.mark.parametrize(
        "issuer",
        [None, "http://127.0.0.1/partner", "https://localhost/partner", "https://[::1]/partner", "http://0.0.0.0/p"],
    )
    def test_a_loopback_issuer_is_refused_in_production(
        self, monkeypatch: pytest.MonkeyPatch, issuer: str | None
    ) -> None:
        monkeypatch.setenv("ALPR_ENVIRONMENT", "production")
        monkeypatch.setenv("ALPR_SHARING_SIGNING_KEYS", "unused: the issuer is refused first")
        if issuer is not None:
            monkeypatch.setenv("ALPR_PARTNER_ISSUER", issuer)
        with pytest.raises(ValidationError, match="ALPR_PARTNER_ISSUER"):
            SharingSettings()

    def test_a_public_issuer_is_taken_in_production(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ALPR_ENVIRONMENT", "production")
        monkeypatch.setenv("ALPR_SHARING_SIGNING_KEYS", "-----BEGIN PRIVATE KEY-----")
        monkeypatch.setenv("ALPR_PARTNER_ISSUER", "https://alpr.example.org/partner")
        assert SharingSettings().partner_issuer == "https://alpr.example.org/partner"

    def test_development_keeps_the_local_default(self) -> None:
        assert SharingSettings().partner_issuer == "http://127.0.0.1/partner"
