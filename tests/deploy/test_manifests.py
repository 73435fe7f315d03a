"""Offline rendering, schema validation and policy checks of the Kubernetes overlays in deploy/k8s."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ["development", "production"]
SERVICES = ["gateway", "recognizer", "records", "audit", "sharing"]
EXTERNAL_CONFIG_MAPS = {"alpr-oidc-jwks"}  # made in the cluster from the identity provider's keys


def _load_validator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("validate_k8s", ROOT / "scripts" / "validate_k8s.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["validate_k8s"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


validate_k8s = _load_validator()


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return validate_k8s.render(K8S / "overlays" / request.param)


def _by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config,) = [o for o in objects if o["metadata"]["name"].startswith("alpr-config-")]
    return config["data"]


class TestOverlays:
    @pytest.mark.parametrize("overlay", OVERLAYS)
    def test_validates_against_schemas_and_policy(self, overlay: str) -> None:
        report = validate_k8s.validate_overlay(K8S / "overlays" / overlay)
        assert report.errors == []
        assert report.validated == sum(report.kinds.values()) > 30

    def test_main_exits_zero_and_prints_summary(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert validate_k8s.main([]) == 0
        out = capsys.readouterr().out
        assert "deploy/k8s/overlays/production: " in out and "policy checks: passed" in out
        assert out.rstrip().endswith("OK")

    def test_each_service_has_deployment_service_and_budget(self, rendered: list[dict[str, Any]]) -> None:
        for kind in ("Deployment", "Service", "PodDisruptionBudget"):
            assert {f"alpr-{s}" for s in SERVICES} <= set(_by_kind(rendered, kind))
        assert set(_by_kind(rendered, "HorizontalPodAutoscaler")) == {"alpr-gateway", "alpr-recognizer"}
        assert _by_kind(rendered, "StatefulSet")["nats"]["spec"]["replicas"] == 3

    def test_generated_config_maps_are_hashed_and_referenced(self, rendered: list[dict[str, Any]]) -> None:
        names = set(_by_kind(rendered, "ConfigMap"))
        assert all(re.fullmatch(r"(alpr-config|nats-config|alpr-dashboards)-[a-z0-9]{10}", n) for n in names)
        for obj in rendered:
            for spec in validate_k8s._pod_specs(obj):
                for container in spec["containers"]:
                    refs = [e["configMapRef"]["name"] for e in container.get("envFrom", []) if "configMapRef" in e]
                    assert set(refs) <= names
                volumes = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
                assert set(volumes) <= names | EXTERNAL_CONFIG_MAPS

    def test_backup_retention_is_the_backup_window(self, rendered: list[dict[str, Any]]) -> None:
        config = _config(rendered)
        store = _by_kind(rendered, "ObjectStore")["alpr-backups"]
        assert store["spec"]["retentionPolicy"] == f"{config['ALPR_BACKUP_WINDOW_DAYS']}d"
        assert "backup" not in _by_kind(rendered, "Cluster")["alpr-db"]["spec"]  # the deprecated in-tree fields
        assert int(config["ALPR_BACKUP_WINDOW_DAYS"]) < int(config["ALPR_RETENTION_DAYS"]) <= 365

    def test_every_object_has_a_deploy_phase(self, rendered: list[dict[str, Any]]) -> None:
        phases = {o["metadata"]["labels"].get("alpr.deploy/phase") for o in rendered}
        assert phases == {"namespace", "platform", "migrate", "services", "restore"}

    def test_purge_job_is_suspended_until_a_restore(self, rendered: list[dict[str, Any]]) -> None:
        purge = _by_kind(rendered, "Job")["alpr-purge-now"]
        assert purge["spec"]["suspend"] is True
        assert purge["spec"]["template"]["spec"]["containers"][0]["args"] == ["purge", "--now"]

    def test_no_secret_is_rendered(self, rendered: list[dict[str, Any]]) -> None:
        assert not [o for o in rendered if o["kind"] == "Secret"]

    def test_images_come_from_the_registry_with_a_tag(self, rendered: list[dict[str, Any]]) -> None:
        images = {c["image"] for o in rendered for c in validate_k8s._containers(o)}
        assert all(re.search(r":[\w.-]+$", i) and not i.endswith(":latest") for i in images)
        assert not images & {"alpr-services", "alpr-recognizer"}

    def test_only_the_gateway_takes_traffic_from_anywhere(self, rendered: list[dict[str, Any]]) -> None:
        open_to_all = [
            p["spec"]["podSelector"]
            for p in _by_kind(rendered, "NetworkPolicy").values()
            for rule in p["spec"].get("ingress", [])
            if "from" not in rule
        ]
        assert open_to_all == [{"matchLabels": {"app.kubernetes.io/name": "alpr-gateway"}}]

    def test_production_runs_with_production_settings(self) -> None:
        objects = validate_k8s.render(K8S / "overlays" / "production")
        assert _config(objects)["ALPR_ENVIRONMENT"] == "production"
        assert all(o["metadata"].get("namespace", "alpr") == "alpr" for o in objects)

    def test_every_referenced_secret_key_is_documented(self, rendered: list[dict[str, Any]]) -> None:
        example = (K8S / "secrets.example.env").read_text()
        keys = set(re.findall(r"^([A-Za-z_]+)=$", example, re.MULTILINE))
        for obj in rendered:
            for container in validate_k8s._containers(obj):
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["name"] in example and ref["key"] in keys, ref
                for source in container.get("envFrom", []):
                    if "secretRef" in source:
                        assert source["secretRef"]["name"] in example


def _break(tmp_path: Path, relative: str, old: str, new: str) -> Path:
    """Copy deploy/k8s into tmp_path with one edit, and return the copied production overlay."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    target = copy / relative
    text = target.read_text()
    assert old in text, f"{old!r} not in {relative}: the breakage would not happen"
    target.write_text(text.replace(old, new, 1))
    return copy / "overlays" / "production"


class TestValidatorRefusesBrokenManifests:
    @pytest.mark.parametrize(
        ("relative", "old", "new", "expected"),
        [
            ("base/services/gateway.yaml", "readinessProbe:", "startupProbe:", "no readinessProbe"),
            (
                "base/services/records.yaml",
                "readOnlyRootFilesystem: true",
                "readOnlyRootFilesystem: false",
                "readOnlyRootFilesystem",
            ),
            (
                "base/services/audit.yaml",
                "              memory: 512Mi\n",
                "",
                "resources.limits lacks ['memory']",
            ),
            (
                "base/services/sharing.yaml",
                "  revisionHistoryLimit:",
                "  revisionHistoryLimt:",
                "'revisionHistoryLimt'",
            ),
            ("base/postgres/cluster.yaml", "login: true", 'login: "yes"', "Cluster/alpr-db"),
            (
                "overlays/production/objectstore-patch.yaml",
                "retentionPolicy: 30d",
                "retentionPolicy: 60d",
                "retentionPolicy '60d'",
            ),
            (
                "base/networkpolicies.yaml",
                '  podSelector: {}\n  policyTypes: ["Ingress", "Egress"]',
                '  podSelector: {}\n  policyTypes: ["Ingress"]',
                "no default-deny",
            ),
            (
                "base/kustomization.yaml",
                "resources:\n",
                "resources:\n  - leaked-secret.yaml\n",
                "carries data",
            ),
            (
                "base/config.env",
                "ALPR_NATS_STREAM_REPLICAS=3",
                "ALPR_NATS_STREAM_REPLICAS=5",
                "stream replicas 5 must be odd (a quorum) and at most the 3 NATS servers",
            ),
            (
                "overlays/production/kustomization.yaml",
                "namespace: alpr\n",
                "namespace: alpr\ncommonLabels: {}\n",
                "unsupported kustomization fields",
            ),
        ],
    )
    def test_breakage_is_reported(self, tmp_path: Path, relative: str, old: str, new: str, expected: str) -> None:
        overlay = _break(tmp_path, relative, old, new)
        (tmp_path / "k8s" / "base" / "leaked-secret.yaml").write_text(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\nstringData:\n  password: hunter2\n"
        )
        report = validate_k8s.validate_overlay(overlay)
        assert any(expected in error for error in report.errors), report.errors

    def test_main_exits_non_zero_on_failure(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        overlay = _break(tmp_path, "base/services/gateway.yaml", "livenessProbe:", "startupProbe:")
        assert validate_k8s.main([str(overlay)]) == 1
        assert capsys.readouterr().out.rstrip().endswith("FAILED")
