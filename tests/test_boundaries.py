"""Each service imports only itself and libs/common; libs/common imports no service (STYLE.md).

A service that imports another ships and deploys with it: the gateway once imported the sharing
service's OAuth modules, so both images carried them and a change in sharing could break the gateway.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["audit", "gateway", "recognizer", "records", "sharing"]
LAUNCHER = "cli"  # `alpr up` starts every service, so it is the one package that imports them all


def imported_modules(path: Path) -> set[str]:
    """Every absolute module a file imports, at the top or inside a function."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def foreign_services(folder: Path, own: str | None) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "services" and len(parts) > 1 and parts[1] != own:
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


class TestImportBoundaries:
    def test_every_service_package_is_checked(self) -> None:
        packages = {p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists()}
        assert packages == {*SERVICES, LAUNCHER}

    @pytest.mark.parametrize("service", SERVICES)
    def test_a_service_imports_no_other_service(self, service: str) -> None:
        assert foreign_services(ROOT / "services" / service, own=service) == []

    def test_libs_import_no_service(self) -> None:
        assert foreign_services(ROOT / "libs", own=None) == []

    def test_the_check_sees_a_foreign_import(self, tmp_path: Path) -> None:
        (tmp_path / "handler.py").write_text("def f():\n    from services.sharing.oauth import client_auth\n")
        assert imported_modules(tmp_path / "handler.py") == {"services.sharing.oauth"}
