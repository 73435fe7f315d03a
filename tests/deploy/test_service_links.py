"""Pods that run `alpr` get no Kubernetes service-link variables: the Service `alpr-gateway` would set
`ALPR_GATEWAY_PORT=tcp://…` in every pod of the namespace, an `ALPR_*` name no setting defines (`alpr serve`
refuses to start on one) and, before, a port number `alpr` failed to parse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli.main import build_parser
from services.cli.serve import unknown_variable_problems
from tests.deploy.test_manifests import validate_k8s

BASE = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "base"


def deployment(image: str, **pod: Any) -> dict[str, Any]:
    container = {"name": "main", "image": image}
    return {
        "kind": "Deployment",
        "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"containers": [container], **pod}}},
    }


def links_problems(obj: dict[str, Any]) -> list[str]:
    return [p for p in validate_k8s.check_policy([obj]) if "enableServiceLinks" in p]


class TestServiceLinks:
    @pytest.mark.parametrize("image", ["alpr-services", "alpr-recognizer", "registry.example/alpr/services@sha256:ab"])
    def test_an_alpr_pod_must_turn_service_links_off(self, image: str) -> None:
        assert links_problems(deployment(image)) == ["Deployment/x: enableServiceLinks is not false"]
        assert links_problems(deployment(image, enableServiceLinks=False)) == []

    def test_other_pods_are_not_asked(self) -> None:
        assert links_problems(deployment("nats:2.10-alpine")) == []

    def test_every_alpr_pod_in_the_base_turns_them_off(self) -> None:
        for path in sorted(BASE.rglob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict) and doc.get("kind") in ("Deployment", "Job", "StatefulSet"):
                    assert links_problems(doc) == [], path

    def test_what_service_links_would_set_is_refused_and_does_not_break_the_parser(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Were links on after all, `alpr` still parses its arguments and names the variables it refuses."""
        injected = {"ALPR_GATEWAY_PORT": "tcp://10.96.0.12:8080", "ALPR_GATEWAY_SERVICE_HOST": "10.96.0.12"}
        for name, value in injected.items():
            monkeypatch.setenv(name, value)
        assert build_parser().parse_args(["up"]).port == 8080
        assert [p.split()[0] for p in unknown_variable_problems(injected)] == ["ALPR_GATEWAY_SERVICE_HOST"]
