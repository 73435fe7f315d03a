"""`alpr serve` refuses an `ALPR_*` variable that no service reads: a misspelling would leave the default in force."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli.serve import known_variables, serve, unknown_variable_problems

ROOT = Path(__file__).resolve().parents[3]
# where the repository reads or sets its variables: the services, the launcher, the manifests, the test stacks
SOURCES = ["services", "libs", "scripts", "deploy", "tests/conftest.py", "tests/utils"]


def _names_in_repository() -> set[str]:
    files = [p for s in SOURCES for p in ([ROOT / s] if (ROOT / s).is_file() else (ROOT / s).rglob("*"))]
    found: set[str] = set()
    for path in files:
        if path.is_file() and path.suffix in {".py", ".yaml", ".env", ".conf", ""}:
            found.update(re.findall(r"\bALPR_[A-Z0-9_]*[A-Z0-9]\b(?!_)", path.read_text(errors="replace")))
    return found


class TestUnknownVariables:
    @pytest.mark.parametrize(
        ("typo", "meant"),
        [
            ("ALPR_RETENTON_DAYS", "ALPR_RETENTION_DAYS"),
            ("ALPR_UNMATCHED_RETENTON_DAYS", "ALPR_UNMATCHED_RETENTION_DAYS"),
            ("ALPR_ENVIRONEMNT", "ALPR_ENVIRONMENT"),
            ("alpr_retenton_days", "ALPR_RETENTION_DAYS"),  # pydantic-settings reads names in any case
        ],
    )
    def test_a_misspelling_is_named_with_the_closest_known_name(self, typo: str, meant: str) -> None:
        (problem,) = unknown_variable_problems({typo: "90", "HOME": "/root"})
        assert typo in problem and meant in problem

    def test_every_name_the_repository_uses_is_known(self) -> None:
        used = _names_in_repository()
        assert {"ALPR_UNMATCHED_RETENTION_DAYS", "ALPR_HTTP_PORT", "ALPR_DRAIN_S"} <= used
        assert sorted(used - known_variables()) == []

    def test_each_service_settings_field_is_known(self) -> None:
        known = known_variables()
        for name in ("ALPR_PARTNER_ISSUER", "ALPR_TORCH_THREADS", "ALPR_AUDIT_SIGNING_KEY", "ALPR_LOCKOUT_WINDOW_S"):
            assert name in known

    def test_serve_refuses_before_listening(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ALPR_RETENTON_DAYS", "90")

        def started(*args: object, **kwargs: object) -> None:
            raise AssertionError("the service was loaded despite the misspelled variable")

        monkeypatch.setattr("uvicorn.Config.load_app", started)
        with pytest.raises(SystemExit) as refused:
            serve("records", None, host="127.0.0.1", port=1, workers=1, proxy={})
        assert "ALPR_RETENTON_DAYS" in str(refused.value) and "ALPR_RETENTION_DAYS" in str(refused.value)

    def test_alpr_serve_exits_non_zero_naming_the_variable(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ALPR_")}
        env |= {
            "ALPR_DATABASE_URL": "postgresql+asyncpg://alpr_records:x@127.0.0.1:9/alpr",  # never reached
            "ALPR_NATS_URL": "nats://127.0.0.1:9",
            "ALPR_HTTP_HOST": "127.0.0.1",
            "ALPR_HTTP_PORT": "9",
            "ALPR_UNMATCHED_RETENTON_DAYS": "30",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "records"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _, stderr = proc.communicate(timeout=60)  # a refusal is at once; a started service would keep running
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode not in (0, None)
        assert "ALPR_UNMATCHED_RETENTON_DAYS" in stderr and "ALPR_UNMATCHED_RETENTION_DAYS" in stderr
