"""The ingest fault drill at CI size: records SIGKILLed, NATS and PostgreSQL restarted mid-posting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class TestIngestFaultDrill:
    def test_every_posted_read_is_stored_exactly_once_through_each_fault(self) -> None:
        result = subprocess.run(
            [sys.executable, "scripts/ingest_faults.py", "--reads", "3000"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        assert result.stdout.count("PASS") == 3
