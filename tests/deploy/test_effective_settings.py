"""validate_k8s checks what each pod runs with (env over envFrom), not only the shared settings ConfigMap."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PRODUCTION = K8S / "overlays" / "production"


Copy = Callable[[Callable[[str], str]], Path]


@pytest.fixture(scope="module")
def validate_k8s() -> ModuleType:
    from tests.deploy.test_manifests import validate_k8s

    return validate_k8s


@pytest.fixture
def production_copy(tmp_path: Path) -> Copy:
    """The production overlay copied into tmp_path/production, its kustomization text changed by `edit`."""

    def copy(edit: Callable[[str], str]) -> Path:
        overlay = tmp_path / "production"
        shutil.copytree(PRODUCTION, overlay)
        kustomization = overlay / "kustomization.yaml"
        text = kustomization.read_text().replace("../../base", str(K8S / "base"))
        kustomization.write_text(edit(text))
        return overlay

    return copy


def _with_env(overlay: Path, container: str, patch: str, env: dict[str, str]) -> None:
    path = overlay / patch
    body = yaml.safe_load(path.read_text())
    (spec,) = [c for c in body["spec"]["template"]["spec"]["containers"] if c["name"] == container]
    spec["env"] = [{"name": name, "value": value} for name, value in env.items()]
    path.write_text(yaml.safe_dump(body))


def _literals(overlay: Path) -> dict[str, str]:
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    (generator,) = kustomization["configMapGenerator"]
    return dict(literal.split("=", 1) for literal in generator["literals"])


class TestProductionOverlay:
    def test_declares_production_and_a_public_partner_issuer(self) -> None:
        literals = _literals(PRODUCTION)
        assert literals["ALPR_ENVIRONMENT"] == "production"
        assert literals["ALPR_PARTNER_ISSUER"].startswith("https://")
        assert "127.0.0.1" not in literals["ALPR_PARTNER_ISSUER"]

    def test_the_copy_validates_as_the_original(self, validate_k8s: ModuleType, production_copy: Copy) -> None:
        assert validate_k8s.validate_overlay(production_copy(lambda text: text)).errors == []


class TestEffectiveEnvironment:
    def test_a_deployment_override_of_the_backup_window_is_refused(
        self, validate_k8s: ModuleType, production_copy: Copy
    ) -> None:
        overlay = production_copy(lambda text: text)
        _with_env(overlay, "records", "records-patch.yaml", {"ALPR_BACKUP_WINDOW_DAYS": "7"})
        errors = validate_k8s.validate_overlay(overlay).errors
        assert any("alpr-records" in e and "ALPR_BACKUP_WINDOW_DAYS=7" in e and "30d" in e for e in errors), errors

    def test_a_misspelled_environment_key_is_refused(self, validate_k8s: ModuleType, production_copy: Copy) -> None:
        overlay = production_copy(lambda text: text.replace("- ALPR_ENVIRONMENT=", "- ALPR_ENVIRONEMNT="))
        errors = validate_k8s.validate_overlay(overlay).errors
        assert any("ALPR_ENVIRONEMNT" in e and "closest is ALPR_ENVIRONMENT" in e for e in errors), errors
        # the base's development then rules every pod of an overlay meant for production
        assert sum("ALPR_ENVIRONMENT is 'development' in a production overlay" in e for e in errors) == 5, errors

    def test_one_deployment_run_as_development_is_refused(
        self, validate_k8s: ModuleType, production_copy: Copy
    ) -> None:
        overlay = production_copy(lambda text: text)
        _with_env(overlay, "records", "records-patch.yaml", {"ALPR_ENVIRONMENT": "development"})
        errors = validate_k8s.validate_overlay(overlay).errors
        assert errors == [
            "policy: Deployment/alpr-records container records: "
            "ALPR_ENVIRONMENT is 'development' in a production overlay"
        ]

    def test_a_misspelled_deployment_variable_is_refused(self, validate_k8s: ModuleType, production_copy: Copy) -> None:
        overlay = production_copy(lambda text: text)
        _with_env(overlay, "records", "records-patch.yaml", {"ALPR_UNMATCHED_RETENTON_DAYS": "30"})
        errors = validate_k8s.validate_overlay(overlay).errors
        assert any("alpr-records" in e and "ALPR_UNMATCHED_RETENTION_DAYS" in e for e in errors), errors

    @pytest.mark.parametrize("issuer", [None, "http://127.0.0.1/partner", "http://alpr.example.org/partner"])
    def test_a_partner_issuer_partners_cannot_reach_is_refused(
        self, validate_k8s: ModuleType, production_copy: Copy, issuer: str | None
    ) -> None:
        def edit(text: str) -> str:
            line = "      - ALPR_PARTNER_ISSUER=https://alpr.example.org/partner\n"
            assert line in text
            return text.replace(line, "" if issuer is None else f"      - ALPR_PARTNER_ISSUER={issuer}\n")

        errors = validate_k8s.validate_overlay(production_copy(edit)).errors
        assert any("alpr-sharing" in e and "ALPR_PARTNER_ISSUER" in e for e in errors), errors
