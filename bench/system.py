"""Start `alpr up` in a throw-away data folder for a benchmark, and stop it afterwards."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


class RunningSystem:
    """`alpr up` as a subprocess: the real services, PostgreSQL and NATS, as an operator runs them."""

    def __init__(self, port: int = 18181, *, gateway_workers: int = 1) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
        self.data_dir.chmod(0o755)
        self.port = port
        self.gateway_workers = gateway_workers
        self.proc: subprocess.Popen[str] | None = None
        self.pg_port = 0
        self.output: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/alpr"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.cli.main",
                "up",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--gateway-workers",
                str(self.gateway_workers),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "ALPR_LOG_LEVEL": "warning"},
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 300
        for line in self.proc.stdout:
            self.output.append(line)
            if m := re.search(r"PostgreSQL :(\d+)", line):
                self.pg_port = int(m.group(1))
            if m := re.search(r"Gateway: http://127.0.0.1:(\d+)", line):
                self.port = int(m.group(1))
                return
            if time.monotonic() > deadline:
                break
        raise RuntimeError("alpr up did not start:\n" + "".join(self.output[-30:]))

    def credential(self, role: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "services.cli.main", "token", "--role", role, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()

    def _services(self) -> dict[str, list[psutil.Process]]:
        """Each service's processes: its `serve` process and any HTTP workers it started."""
        if self.proc is None:
            return {}
        found: dict[str, list[psutil.Process]] = {}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = child.cmdline()
                if "serve" in cmd:
                    found[cmd[-1]] = [child, *child.children(recursive=True)]
            except psutil.Error:
                continue
        return found

    def service_rss_mib(self) -> dict[str, float]:
        """Resident memory of each service, its worker processes added together."""
        found = {}
        for name, procs in self._services().items():
            try:
                found[name] = sum(p.memory_info().rss for p in procs) / 2**20
            except psutil.Error:
                continue
        return found

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) so far of each service, of PostgreSQL (all its processes) and of NATS."""
        if self.proc is None:
            return {}
        found: dict[str, float] = {}
        workers_of = {procs[0]: name for name, procs in self._services().items()}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd, times, parent = child.cmdline(), child.cpu_times(), child.parent()
            except psutil.Error:
                continue
            if parent in workers_of:  # an HTTP worker of a service
                name = workers_of[parent]
            elif "serve" in cmd:
                name = cmd[-1]
            elif child.name().startswith("postgres") or any("postgres" in c for c in cmd[:1]):
                name = "postgresql"
            elif "nats-server" in child.name() or any("nats-server" in c for c in cmd[:1]):
                name = "nats-server"
            else:
                continue
            found[name] = found.get(name, 0.0) + times.user + times.system
        return found

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
