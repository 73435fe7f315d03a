"""The cluster drill at CI size: 2,000 reads through `alpr up --cluster` while the READS leader's NATS server, a
records replica and the audit replica caught writing are SIGKILLed and restarted; none lost, none doubled,
the audit chain verified.

Budget: about 70 s here (20 s to start the cluster, 15 s of posting, up to 30 s for the killed replicas'
unacknowledged messages to come back after ack_wait); the subprocess is stopped at 170 s.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from services.cli.embedded import free_port
from tests.utils.subprocesses import run_script

REPO = Path(__file__).resolve().parents[2]
# awaited on the session's loop: the in-process services keep answering NATS while the drill runs
pytestmark = pytest.mark.asyncio(loop_scope="session")
SUMMARY = re.compile(r"cluster drill: (\d+) posted, (\d+) stored, (\d+) lost, (\d+) doubled, audit verify (\w+)")


class TestClusterDrill:
    async def test_no_read_is_lost_or_doubled_and_the_audit_chain_verifies_through_the_kills(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="alpr-cluster-drill-test-"))
        command = [sys.executable, "scripts/cluster_drill.py", "--reads", "2000", "--data-dir", str(folder)]
        try:
            result = await run_script([*command, "--port", str(free_port())], cwd=REPO, timeout=170)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        report = result.stdout + result.stderr[-4000:]
        assert result.returncode == 0, report
        lines = result.stdout.splitlines()
        assert len(lines) == 1, report  # exactly the summary on stdout
        match = SUMMARY.fullmatch(lines[0])
        assert match, report
        assert match.groups() == ("2000", "2000", "0", "0", "ok"), report
        for name in (r"nats-\d, the READS leader", "records-2", "audit-"):
            assert re.search(rf"SIGKILL {name}", result.stderr), report
        assert result.stderr.count("restarted and ready") == 3, report
