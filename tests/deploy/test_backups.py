"""Issue 27: backups through the Barman Cloud plugin, encrypted, and never holding a read past 365 days."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from libs.common.settings import RetentionSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
sys.path.insert(0, str(ROOT / "scripts"))
import validate_k8s  # noqa: E402
from database_policy import backup_problems, schedule_interval_days  # noqa: E402


def _copy(tmp_path: Path, edits: list[tuple[str, str, str]]) -> Path:
    """deploy/k8s copied into tmp_path with the edits made; the copied production overlay."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    for relative, old, new in edits:
        target = copy / relative
        text = target.read_text()
        assert old in text, f"{old!r} not in {relative}: the breakage would not happen"
        target.write_text(text.replace(old, new, 1))
    return copy / "overlays" / "production"


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [o["data"] for o in objects if o["metadata"]["name"].startswith("alpr-config-")]
    return dict(config)


class TestProductionBackups:
    def test_the_arithmetic_keeps_every_copy_within_365_days(self) -> None:
        objects = validate_k8s.render(K8S / "overlays" / "production")
        problems, arithmetic = backup_problems(objects)
        assert problems == []
        assert arithmetic == "365 − (30 + 1 + 1) = 333 days in the live database"

    def test_the_services_compute_the_same_cutoff_from_the_rendered_config(self) -> None:
        config = _config(validate_k8s.render(K8S / "overlays" / "production"))
        keys = ("RETENTION_DAYS", "BACKUP_WINDOW_DAYS", "BACKUP_INTERVAL_DAYS", "RETENTION_CHECK_SLACK_DAYS")
        values = {k.lower(): int(config[f"ALPR_{k}"]) for k in keys}
        settings = RetentionSettings(database_url="postgresql+asyncpg://x@db/alpr", **values)
        assert settings.active_retention_days == 333 and settings.backup_margin_days == 32

    def test_the_cluster_archives_through_the_plugin_into_an_encrypted_store(self) -> None:
        objects = validate_k8s.render(K8S / "overlays" / "production")
        (cluster,) = [o for o in objects if o["kind"] == "Cluster"]
        (store,) = [o for o in objects if o["kind"] == "ObjectStore"]
        (plugin,) = cluster["spec"]["plugins"]
        assert plugin["isWALArchiver"] and plugin["parameters"]["barmanObjectName"] == store["metadata"]["name"]
        assert {store["spec"]["configuration"][s]["encryption"] for s in ("data", "wal")} == {"aws:kms"}
        (scheduled,) = [o for o in objects if o["kind"] == "ScheduledBackup"]
        assert scheduled["spec"]["method"] == "plugin"

    def test_the_output_writes_the_arithmetic_out(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert validate_k8s.main([str(K8S / "overlays" / "production")]) == 0
        assert "365 − (30 + 1 + 1) = 333 days in the live database" in capsys.readouterr().out


class TestValidatorRefusesUnlawfulBackups:
    @pytest.mark.parametrize(
        ("edits", "expected"),
        [
            (
                [
                    (
                        "base/postgres/objectstore.yaml",
                        "    data:\n      compression: gzip\n      encryption: aws:kms\n",
                        "    data:\n      compression: gzip\n",
                    )
                ],
                "data is not encrypted at rest",
            ),
            (
                [
                    (
                        "base/postgres/objectstore.yaml",
                        "    wal:\n      compression: gzip\n      encryption: aws:kms\n",
                        "    wal:\n      compression: gzip\n      encryption: none\n",
                    )
                ],
                "ObjectStore/alpr-backups",  # refused by its schema, and by the policy
            ),
            (
                [("base/config.env", "ALPR_BACKUP_INTERVAL_DAYS=1", "ALPR_BACKUP_INTERVAL_DAYS=0")],
                "is not daily or weekly within 0 day(s)",
            ),
            (
                [("base/postgres/scheduledbackup.yaml", '"0 0 2 * * *"', '"0 0 2 * * 0"')],
                "is not daily or weekly within 1 day(s)",
            ),
            (
                [("base/config.env", "ALPR_RETENTION_CHECK_SLACK_DAYS=1", "ALPR_RETENTION_CHECK_SLACK_DAYS=0")],
                "ALPR_RETENTION_CHECK_SLACK_DAYS is 0",
            ),
            (
                # a window so long no read would be left live: 365 - (363 + 1 + 1) = 0
                [
                    (
                        "overlays/production/kustomization.yaml",
                        "ALPR_BACKUP_WINDOW_DAYS=30",
                        "ALPR_BACKUP_WINDOW_DAYS=363",
                    ),
                    ("overlays/production/objectstore-patch.yaml", "retentionPolicy: 30d", "retentionPolicy: 363d"),
                ],
                "365 − (363 + 1 + 1) = 0 days",
            ),
            (
                [("overlays/production/kustomization.yaml", "ALPR_RETENTION_DAYS=365", "ALPR_RETENTION_DAYS=366")],
                "backups would hold reads past 365 days",
            ),
            (
                [("base/postgres/cluster.yaml", "barmanObjectName: alpr-backups", "barmanObjectName: elsewhere")],
                "barmanObjectName 'elsewhere' names no rendered ObjectStore",
            ),
            (
                [("base/postgres/cluster.yaml", "isWALArchiver: true", "isWALArchiver: false")],
                "archives WAL",
            ),
            (
                [("base/postgres/scheduledbackup.yaml", "method: plugin", "method: barmanObjectStore")],
                "want method plugin",
            ),
        ],
    )
    def test_breakage_is_reported(self, tmp_path: Path, edits: list[tuple[str, str, str]], expected: str) -> None:
        report = validate_k8s.validate_overlay(_copy(tmp_path, edits))
        assert any(expected in error for error in report.errors), report.errors
        assert not any(f.startswith("backups") for f in report.facts)  # no arithmetic vouched for while wrong

    def test_the_deprecated_in_tree_fields_are_refused(self) -> None:
        objects = validate_k8s.render(K8S / "overlays" / "production")
        (cluster,) = [o for o in objects if o["kind"] == "Cluster"]
        cluster["spec"]["backup"] = {"retentionPolicy": "30d", "barmanObjectStore": {"destinationPath": "s3://x"}}
        problems, _ = backup_problems(objects)
        assert (
            "Cluster/alpr-db: spec.backup.barmanObjectStore is deprecated; use the Barman Cloud plugin's ObjectStore"
            in problems
        )
        assert any("spec.backup.retentionPolicy is deprecated" in p for p in problems)
        assert validate_k8s.validate_schema(cluster)  # the schema no longer knows spec.backup either


class TestScheduleInterval:
    @pytest.mark.parametrize(
        ("schedule", "days"),
        [
            ("0 0 2 * * *", 1),
            ("@daily", 1),
            ("0 30 1 * * 0", 7),
            ("@weekly", 7),
            ("0 0 */6 * * *", None),
            ("0 0 2 1 * *", None),
            ("0 0 2 * *", None),
        ],
    )
    def test_the_longest_gap_between_backups(self, schedule: str, days: int | None) -> None:
        assert schedule_interval_days(schedule) == days
