"""A running `alpr up --cluster` seen from outside, by its data folder: where each process listens, and the
development hooks a drill uses to take one down (SIGKILL, held down) and let the supervisor bring it back."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

UP_COMMAND = (sys.executable, "-m", "services.cli.main", "up", "--cluster")
START_TIMEOUT_S = 300  # eleven processes and PostgreSQL on a busy two-core machine


@dataclass
class RunningCluster:
    """The cluster whose `run/cluster.json` is in `data_dir`; `proc` when this process started it."""

    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    log_offset: int = 0

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def layout(self) -> dict[str, Any]:
        return dict(json.loads((self.run_dir / "cluster.json").read_text()))

    @property
    def gateway_url(self) -> str:
        return str(self.layout["gateway_url"])

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.layout['postgres_port']}/alpr"

    @property
    def nats_urls(self) -> list[str]:
        return list(self.layout["nats_urls"])

    def port(self, name: str) -> int:
        return int(self.layout["ports"][name])

    def pid(self, name: str) -> int:
        return int((self.run_dir / f"{name}.pid").read_text().strip())

    @classmethod
    def found(cls, data_dir: Path) -> RunningCluster | None:
        """The cluster running in `data_dir`, or None when none answers there."""
        cluster = cls(data_dir.resolve())
        try:
            httpx.get(f"{cluster.gateway_url}/readyz", timeout=2).raise_for_status()
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            return None
        return cluster

    @classmethod
    def start(cls, data_dir: Path, *, port: int, log: Path) -> RunningCluster:
        """`alpr up --cluster` as a child process printing to `log`, returned once it said it is up."""
        data_dir.mkdir(parents=True, exist_ok=True)
        offset = log.stat().st_size if log.exists() else 0
        proc = subprocess.Popen(
            [*UP_COMMAND, "--data-dir", str(data_dir), "--port", str(port), "--echo", "none"],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "ALPR_LOG_LEVEL": "warning"},
        )
        cluster = cls(data_dir.resolve(), proc, log, offset)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any(line.startswith("Cluster: ") for line in cluster.supervisor_lines()):
            if proc.poll() is not None or time.monotonic() > deadline:
                cluster.stop()
                raise RuntimeError(f"alpr up --cluster did not come up; see {log}")
            time.sleep(0.3)
        return cluster

    def supervisor_lines(self) -> list[str]:
        """What the `alpr up` this process started printed since the last call (start-up, restarts)."""
        if self.log is None or not self.log.exists():
            return []
        with self.log.open("rb") as f:
            f.seek(self.log_offset)
            text = f.read()
        complete = text[: text.rfind(b"\n") + 1]
        self.log_offset += len(complete)
        return complete.decode(errors="replace").splitlines()

    def kill(self, name: str) -> int:
        """SIGKILL one process and hold it down until `release`; returns the pid killed."""
        (self.run_dir / f"{name}.hold").touch()
        pid = self.pid(name)
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        # a pid file is only a hint: kill nothing but a process of this cluster
        if b"nats-server" not in command and b"serve" not in command:
            raise RuntimeError(f"pid {pid} of {name} is not a cluster process: {command!r}")
        os.kill(pid, signal.SIGKILL)
        return pid

    def release(self, name: str, killed_pid: int, *, timeout_s: float = 120) -> float:
        """Let the supervisor restart `name`; seconds until the new process listens (and is ready)."""
        (self.run_dir / f"{name}.hold").unlink(missing_ok=True)
        started = time.monotonic()
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            if self._pid_or_none(name) not in (None, killed_pid) and self._answers(name):
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not come back within {timeout_s:.0f}s")

    def _pid_or_none(self, name: str) -> int | None:
        try:
            return self.pid(name)
        except (OSError, ValueError):
            return None

    def _answers(self, name: str) -> bool:
        port = self.port(name)
        if re.fullmatch(r"nats-\d", name):
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Ctrl-C to the `alpr up` this process started, and wait for it to stop everything."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
