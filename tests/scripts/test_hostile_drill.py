"""The hostile drill's probes against the in-process system: every probe holds, and the drill itself keeps working.

`scripts/hostile_drill.py` runs them against `alpr up`; here the same `run_drill` gets the test gateway,
the session's credentials, and an audit switch that stops and starts the in-process audit service.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "hostile_drill.py"


def load_drill() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))  # the drill imports its probes from beside it
    spec = importlib.util.spec_from_file_location("hostile_drill", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["hostile_drill"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


class InProcessAudit:
    """Stops and starts the audit service of the test system, as an operator would stop the process."""

    def __init__(self, system: Any) -> None:
        self.system = system

    async def stop(self) -> None:
        await self.system.stop_service("audit")

    async def start(self) -> None:
        await self.system.start_service("audit")


class TestHostileDrill:
    async def test_every_probe_holds_and_an_ordinary_search_answers_afterwards(self, system) -> None:
        drill = load_drill()
        secret = (system.stack.data_dir / "dev-partner.secret").read_text().strip()
        headers = {role: system.token(role) for role in drill.ROLES}
        headers["camera"] = system.camera
        headers["partner"] = await drill.partner_headers(system.gateway, secret)
        lines: list[str] = []
        door = drill.Door(system.gateway, headers, InProcessAudit(system))
        ok = await drill.run_drill(door, out=lines.append)
        report = "\n".join(lines)
        tally = next(line for line in lines if line.startswith("hostile: "))
        assert lines[-2].startswith("ordinary search: 200"), report
        assert lines[-1].startswith("audit verify: 200 ok=True"), report
        assert "BROKEN" not in report and ok, report
        assert int(tally.split()[1]) >= 65, tally
