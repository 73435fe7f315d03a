"""The two container images in deploy/images, checked without building them (no container tool here).

What can be proven offline: each Dockerfile copies only what the repository holds and its
.dockerignore sends, runs an `alpr` command that exists, as the numeric non-root user the manifests
expect; each workload names the right image; the services image pulls no torch; the recognizer's
weights reach the installed package.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from services.cli.main import build_parser
from tests.deploy.test_manifests import K8S, OVERLAYS, validate_k8s

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "deploy" / "images"
# the name each Dockerfile's image has in deploy/k8s/base, and what runs on it
IMAGE_NAMES = {"services.Dockerfile": "alpr-services", "recognizer.Dockerfile": "alpr-recognizer"}
SERVED_BY = {"alpr-services": {"gateway", "records", "audit", "sharing"}, "alpr-recognizer": {"recognizer"}}
TORCH = {"torch", "torchvision"}
WEIGHTS = "services/recognizer/weights/crnn.pt"


@dataclass
class Dockerfile:
    """The instructions of one Dockerfile, continuation lines joined."""

    path: Path
    instructions: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
        text = re.sub(r"\\\n", " ", "\n".join(lines))
        found = [tuple(line.strip().split(None, 1)) for line in text.splitlines() if line.strip()]
        return cls(path, [(op.upper(), rest) for op, rest in found])  # type: ignore[misc]

    def all(self, op: str) -> list[str]:
        return [rest for name, rest in self.instructions if name == op]

    def final_stage(self) -> list[tuple[str, str]]:
        starts = [i for i, (name, _) in enumerate(self.instructions) if name == "FROM"]
        return self.instructions[starts[-1] :]

    def exec_form(self, op: str) -> list[str]:
        """ENTRYPOINT or CMD of the final stage, which must be in exec (JSON) form."""
        (value,) = [rest for name, rest in self.final_stage() if name == op]
        parsed = json.loads(value)
        assert isinstance(parsed, list), f"{op} is not in exec form: {value}"
        return [str(p) for p in parsed]

    def copy_sources(self) -> list[str]:
        """Sources of COPY from the build context (not from another stage)."""
        sources = []
        for rest in self.all("COPY"):
            words = shlex.split(rest)
            if any(w.startswith("--from") for w in words):
                continue
            sources += [w for w in words[:-1] if not w.startswith("--")]
        return sources


def _dockerfiles() -> list[Path]:
    return sorted(IMAGES.glob("*.Dockerfile"))


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: `**` any depth, `*` and `?` within one path element."""
    parts = re.split(r"(\*\*/?|\*|\?)", pattern)
    wild = {"**": ".*", "**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts))


def _ignored(patterns: list[str], path: str) -> bool:
    """Docker's .dockerignore rule: the last pattern matching the path or one of its parents decides."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern(pattern.lstrip("!").strip("/"))
        if any(regex.fullmatch(c) for c in candidates):
            ignored = not negate
    return ignored


def _dockerignore(dockerfile: Path) -> list[str]:
    lines = Path(f"{dockerfile}.dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _rendered_containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(overlay, pod spec, container) for every ALPR container in both overlays."""
    found = []
    for overlay in OVERLAYS:
        for obj in validate_k8s.render(K8S / "overlays" / overlay):
            for spec in validate_k8s._pod_specs(obj):
                for container in spec.get("initContainers", []) + spec.get("containers", []):
                    if "/alpr/" in container["image"]:
                        found.append((overlay, spec, container))
    return found


def _image_of(container: dict[str, Any]) -> str:
    """alpr-services or alpr-recognizer, from a rendered registry.example.org/alpr/<name>:<tag>."""
    return "alpr-" + container["image"].split("/alpr/")[1].split(":")[0].split("@")[0]


@pytest.mark.parametrize("dockerfile", _dockerfiles(), ids=lambda p: p.name)
class TestDockerfile:
    def test_every_copy_source_is_in_the_repository_and_the_build_context(self, dockerfile: Path) -> None:
        parsed, patterns = Dockerfile.read(dockerfile), _dockerignore(dockerfile)
        sources = parsed.copy_sources()
        assert sources
        for source in sources:
            assert (ROOT / source).exists(), f"{dockerfile.name}: COPY {source} is not in the repository"
            assert not _ignored(patterns, source), f"{dockerfile.name}: COPY {source} is excluded by .dockerignore"

    def test_runs_an_alpr_command_that_exists(self, dockerfile: Path) -> None:
        parsed = Dockerfile.read(dockerfile)
        scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert parsed.exec_form("ENTRYPOINT") == ["alpr"] and "alpr" in scripts
        args = build_parser().parse_args(parsed.exec_form("CMD"))
        assert args.command == "serve" and args.service in SERVED_BY[IMAGE_NAMES[dockerfile.name]]

    def test_user_is_numeric_non_root_and_the_pods_run_as_it(self, dockerfile: Path) -> None:
        (user,) = [rest for name, rest in Dockerfile.read(dockerfile).final_stage() if name == "USER"]
        match = re.fullmatch(r"(\d+):(\d+)", user.strip())
        assert match and int(match[1]) > 0 and int(match[2]) > 0, f"USER {user} is not numeric uid:gid, non-root"
        name = IMAGE_NAMES[dockerfile.name]
        pods = [spec for _, spec, c in _rendered_containers() if _image_of(c) == name]
        assert pods
        for spec in pods:
            context = spec["securityContext"]
            assert (context["runAsUser"], context["runAsGroup"]) == (int(match[1]), int(match[2]))


class TestWorkloadImages:
    def test_each_container_runs_on_the_image_that_serves_it(self) -> None:
        containers = _rendered_containers()
        assert {_image_of(c) for _, _, c in containers} == set(SERVED_BY)
        for overlay, _, container in containers:
            args = build_parser().parse_args(container["args"])  # the command exists in the image's `alpr`
            if args.command == "serve":
                assert args.service in SERVED_BY[_image_of(container)], (overlay, container["name"])
            else:
                assert _image_of(container) == "alpr-services", (overlay, container["name"], args.command)

    def test_base_names_the_two_images_and_each_overlay_maps_both(self) -> None:
        for overlay in OVERLAYS:
            kustomization = validate_k8s.load_yaml_docs(K8S / "overlays" / overlay / "kustomization.yaml")[0]
            assert {image["name"] for image in kustomization["images"]} == set(SERVED_BY)


class TestServicesImageHasNoTorch:
    def _requirements(self, *flags: str) -> list[str]:
        script = IMAGES / "split_requirements.py"
        result = subprocess.run([sys.executable, str(script), *flags], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    def test_the_requirements_split_puts_torch_only_in_the_recognizer_image(self) -> None:
        assert {Requirement(r).name for r in self._requirements("--torch")} == TORCH
        assert not {Requirement(r).name for r in self._requirements()} & TORCH

    def test_no_installed_dependency_of_the_services_image_pulls_torch(self) -> None:
        """Walks the installed metadata, extras included (uvicorn[standard], ...), from the image's list."""
        seen: set[str] = set()
        pending = [Requirement(r) for r in self._requirements()]
        while pending:
            requirement = pending.pop()
            name = requirement.name.lower().replace("_", "-")
            assert name not in TORCH, f"{requirement} pulls torch into the services image"
            key = f"{name}{sorted(requirement.extras)}"
            if key in seen:
                continue
            seen.add(key)
            for line in importlib.metadata.requires(name) or []:
                dependency = Requirement(line)
                markers = [{"extra": extra} for extra in requirement.extras or {""}]
                if dependency.marker is None or any(dependency.marker.evaluate(m) for m in markers):
                    pending.append(dependency)
        assert len(seen) > 20  # the walk really went through the tree

    def test_the_services_and_the_cli_start_without_torch(self) -> None:
        blocker = (
            "import sys\n"
            "class NoTorch:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'torchvision'):\n"
            "            raise ImportError(f'{name} is not in the services image')\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "import services.cli.main, services.records.retention.cli\n"
        )
        imports = "".join(f"from services.{s}.app import create_app\n" for s in sorted(SERVED_BY["alpr-services"]))
        result = subprocess.run([sys.executable, "-c", blocker + imports], cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]


class TestRecognizerImageHasItsWeights:
    def test_the_weights_are_a_real_file_inside_the_copied_package(self) -> None:
        from services.recognizer.engine.weights import DEFAULT_WEIGHTS

        assert DEFAULT_WEIGHTS == ROOT / WEIGHTS
        assert zipfile.is_zipfile(DEFAULT_WEIGHTS), "crnn.pt is not a torch archive (a Git LFS pointer?)"
        dockerfile = IMAGES / "recognizer.Dockerfile"
        assert "services" in Dockerfile.read(dockerfile).copy_sources()
        assert not _ignored(_dockerignore(dockerfile), WEIGHTS)

    def test_the_package_the_image_installs_contains_the_weights(self, tmp_path: Path) -> None:
        """`pip install --no-deps .` in the image installs this wheel; build it from the same context."""
        context, patterns = tmp_path / "context", _dockerignore(IMAGES / "recognizer.Dockerfile")
        for source in Dockerfile.read(IMAGES / "recognizer.Dockerfile").copy_sources():
            for path in [ROOT / source, *(ROOT / source).rglob("*")]:
                relative = path.relative_to(ROOT).as_posix()
                if path.is_file() and not _ignored(patterns, relative):
                    (context / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, context / relative)
        (context / "pyproject.toml").exists() or pytest.fail("pyproject.toml is not in the build context")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
            cwd=context,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        (wheel,) = tmp_path.glob("alpr-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            assert WEIGHTS in names
            assert archive.getinfo(WEIGHTS).file_size == (ROOT / WEIGHTS).stat().st_size
            assert any(n.startswith("services/records/migrations/") and n.endswith(".sql") for n in names)
