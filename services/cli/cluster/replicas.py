"""The cluster's processes, each with its own log and pid file, restarted when it dies (as the kubelet does).

Development hooks for scripts/cluster_drill.py, beside the pid files `alpr up` already writes in `run/`:
a file `run/<name>.hold` keeps a dead process down until it is removed (an outage of a chosen length).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.cli.embedded import _die_with_parent

RESTART_AFTER_S = 1.0  # the kubelet waits 10 s and more; a drill on one machine would mostly wait


@dataclass
class Replica:
    """One process: a NATS node or a service replica, started from `command` with `env`."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    run_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    died_at: float | None = field(default=None, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def hold_file(self) -> Path:
        return self.run_dir / f"{self.name}.hold"

    def start(self) -> None:
        """Start the process, appending to its log, and write its pid file."""
        self.proc = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # a killed `alpr up` leaves no replica behind (the pods' owner is gone too)
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )
        self.pid_file.write_text(f"{self.proc.pid}\n")
        self.died_at = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def restart_if_due(self) -> str | None:
        """Start a dead replica again after RESTART_AFTER_S unless it is held; a line saying so, or None."""
        if self.proc is None or self.running:
            return None
        now = time.monotonic()
        if self.died_at is None:
            self.died_at = now
            then = "held down until its hold file goes" if self.hold_file.exists() else "restarting it"
            return f"{self.name} exited ({self.proc.returncode}); {then} (log: {self.log})"
        if now - self.died_at < RESTART_AFTER_S or self.hold_file.exists():
            return None
        self.restarts += 1
        self.start()
        return f"{self.name} restarted (pid {self.pid_file.read_text().strip()})"

    def terminate(self) -> None:
        if self.running and self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout_s: float = 15) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.pid_file.unlink(missing_ok=True)
        self.hold_file.unlink(missing_ok=True)


def service_command(service: str) -> list[str]:
    """`alpr serve <service>`, with the interpreter that runs `alpr up`."""
    return [sys.executable, "-m", "services.cli.main", "serve", service]


def service_env(base: dict[str, str], *, log_format: str, gateway_workers: int, service: str) -> dict[str, str]:
    """The process environment: the caller's, the `ALPR_*` settings, and what `alpr up` adds for one machine."""
    env = {**os.environ, **base, "ALPR_HTTP_HOST": "127.0.0.1", "ALPR_LOG_FORMAT": log_format}
    # no load balancer takes a replica out of rotation before SIGTERM here: Ctrl-C stops at once
    env.setdefault("ALPR_DRAIN_S", "0")
    if service == "gateway":
        env["ALPR_HTTP_WORKERS"] = str(gateway_workers)
    return env
