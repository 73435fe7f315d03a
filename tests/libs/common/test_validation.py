"""The shared door rules: text, JSON depth, the capture window, and the settings both sides read it from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from libs.common.errors import InvalidInput, MalformedPayload
from libs.common.settings import RetentionSettings
from libs.common.validation import (
    MAX_JSON_DEPTH,
    active_retention_days,
    backup_margin_days,
    capture_window,
    check_captured_at,
    check_text,
    load_json,
    retention_cutoff,
    text_problem,
)
from services.gateway.settings import GatewaySettings
from services.records.settings import RecordsSettings

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class TestText:
    @pytest.mark.parametrize(
        ("text", "multiline", "problem"),
        [
            ("8ABC123", False, None),
            ("Ünïcødé plate ✓", False, None),
            ("zero\u200bwidth", False, None),  # not printable, but not a control either
            ("two\nrows", True, None),
            ("two\nrows", False, "control_character"),
            ("nul\x00", True, "control_character"),
            ("escape\x1b", True, "control_character"),
            ("delete\x7f", True, "control_character"),
            ("lone\ud800", False, "lone_surrogate"),
            ("é\udfff", True, "lone_surrogate"),
        ],
    )
    def test_problem(self, text: str, multiline: bool, problem: str | None) -> None:
        assert text_problem(text, multiline=multiline) == problem

    def test_check_names_the_field_and_bounds_the_length(self) -> None:
        with pytest.raises(InvalidInput) as err:
            check_text("a\x00", field="reason")
        assert (err.value.code, err.value.details["field"]) == ("invalid_text", "reason")
        with pytest.raises(InvalidInput) as err:
            check_text("x" * 11, field="name", max_length=10)
        assert err.value.code == "text_too_long" and err.value.status == 422


class TestJson:
    def test_depth_at_the_limit_parses(self) -> None:
        assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None

    @pytest.mark.parametrize("raw", ["[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), "[" * 100_000])
    def test_deeper_is_refused_before_any_recursion_escapes(self, raw: str) -> None:
        with pytest.raises(MalformedPayload) as err:
            load_json(raw)
        assert err.value.code == "json_too_deep" and err.value.status == 400

    def test_brackets_inside_strings_are_not_nesting(self) -> None:
        assert load_json('{"plate": "' + "[" * 100 + '"}') == {"plate": "[" * 100}

    @pytest.mark.parametrize("raw", ['{"x": NaN}', "[Infinity]", "[-Infinity]", b'{"x": "\xff"}', "{"])
    def test_what_is_not_json_is_malformed(self, raw: str | bytes) -> None:
        with pytest.raises(MalformedPayload) as err:
            load_json(raw)
        assert err.value.code == "malformed_json"


class TestCaptureWindow:
    def test_the_window_runs_from_the_purge_cutoff_to_the_skew(self) -> None:
        assert capture_window(NOW, active_retention_days=358, clock_skew_s=600) == (
            NOW - timedelta(days=358),
            NOW + timedelta(minutes=10),
        )
        assert retention_cutoff(NOW, 358) == NOW - timedelta(days=358)

    @pytest.mark.parametrize(
        ("at", "code"),
        [
            (NOW - timedelta(days=358, seconds=1), "captured_before_retention"),
            (NOW + timedelta(minutes=10, seconds=1), "captured_in_future"),
        ],
    )
    def test_outside_is_refused(self, at: datetime, code: str) -> None:
        with pytest.raises(InvalidInput) as err:
            check_captured_at(at, now=NOW, active_retention_days=358)
        assert err.value.code == code and err.value.details["field"] == "captured_at"

    def test_the_edges_are_inside(self) -> None:
        for at in (NOW - timedelta(days=358), NOW + timedelta(minutes=10)):
            assert check_captured_at(at, now=NOW, active_retention_days=358) == at

    def test_a_naive_time_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            check_captured_at(datetime(2026, 12, 6), now=NOW, active_retention_days=358)


class TestRetentionSettings:
    ENV = {"database_url": "postgresql+asyncpg://x@localhost/alpr", "environment": "test"}

    def test_gateway_and_records_read_one_window(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        values = {"retention_days": 200, "backup_window_days": 30, "clock_skew_s": 120}
        jwks = tmp_path / "jwks.json"
        jwks.write_text('{"keys": []}')
        gateway = GatewaySettings(**self.ENV, **values, oidc_jwks_path=jwks, oidc_issuer="https://sso.example.org/alpr")
        records = RecordsSettings(**self.ENV, **values)
        assert gateway.active_retention_days == records.active_retention_days == 200 - (30 + 1 + 1)
        assert gateway.clock_skew_s == records.clock_skew_s == 120

    def test_the_skew_defaults_to_ten_minutes(self) -> None:
        assert RetentionSettings(**self.ENV).clock_skew_s == 600

    @pytest.mark.parametrize(
        "values",
        [
            {"retention_days": 400},
            {"backup_window_days": 365},
            {"backup_window_days": 363},  # 365 - (363 + 1 + 1) = 0: a backup would hold a read past the law
            {"backup_interval_days": -1},
            {"retention_check_slack_days": -1},
            {"clock_skew_s": -1},
            {"clock_skew_s": 90_000},
        ],
    )
    def test_out_of_bounds_is_refused_at_start_up(self, values: dict[str, int]) -> None:
        with pytest.raises(ValueError):
            RetentionSettings(**self.ENV, **values)

    def test_the_settings_use_the_one_arithmetic(self) -> None:
        kept = RetentionSettings(
            **self.ENV, backup_window_days=30, backup_interval_days=7, retention_check_slack_days=2
        )
        assert kept.backup_margin_days == 39 and kept.active_retention_days == 326
        assert RetentionSettings(**self.ENV, backup_window_days=362).active_retention_days == 1


class TestBackupMargin:
    """No backup may hold a read older than the retention period: the live database gives up the margin."""

    def test_the_production_arithmetic(self) -> None:
        assert backup_margin_days(recovery_window_days=30, backup_interval_days=1, check_slack_days=1) == 32
        assert active_retention_days(365, recovery_window_days=30, backup_interval_days=1, check_slack_days=1) == 333

    @pytest.mark.parametrize(("window", "interval", "slack"), [(0, 1, 0), (7, 1, 1), (30, 1, 1), (30, 7, 1)])
    def test_the_oldest_read_any_backup_holds_is_within_retention(self, window: int, interval: int, slack: int) -> None:
        active = active_retention_days(
            365, recovery_window_days=window, backup_interval_days=interval, check_slack_days=slack
        )
        cutoff = retention_cutoff(NOW, active)
        # the last base backup before the recovery window is deleted at most interval + slack days after the
        # window passes it; the oldest read it holds is the purge cutoff on the day it was taken
        taken = NOW - timedelta(days=window + interval + slack)
        oldest_in_backup = retention_cutoff(taken, active)
        assert NOW - oldest_in_backup == timedelta(days=365)
        assert cutoff - oldest_in_backup == timedelta(days=window + interval + slack)
