"""`alpr up`: the whole system in the foreground; Ctrl-C stops it cleanly, leaving no process behind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.cli.embedded import free_port, free_ports
from services.cli.log_echo import LogEcho
from services.cli.stack import SERVICES, LocalStack

START_ORDER = ("audit", "records", "recognizer", "sharing", "gateway")


def port_or_free(port: int, fallback: int | None = None) -> int:
    """`port` when nothing listens there, else `fallback` (one of the ports chosen with the others) or a free one
    (the welcome says which)."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) != 0:
            return port
    return fallback if fallback is not None else free_port()


def wait_ready(name: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until the process answers /readyz on `port`; RuntimeError when it exits or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}; see .alpr/logs/{name}.log")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{name} was not ready within {timeout}s")


def run_up(
    data_dir: Path,
    *,
    gateway_port: int,
    gateway_workers: int = 1,
    log_format: str = "json",
    echo_level: str | None = "warning",
) -> None:
    stack = LocalStack(data_dir)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    logs = stack.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    run = stack.data_dir / "run"
    run.mkdir(exist_ok=True)
    try:
        print(f"starting PostgreSQL and NATS JetStream in {stack.data_dir} ...", flush=True)
        stack.start_infrastructure()
        applied = asyncio.run(stack.prepare())
        print(f"migrations: {len(applied)} applied (PostgreSQL :{stack.pg.port}, NATS :{stack.nats.port})")
        ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        ports["gateway"] = port_or_free(gateway_port, fallback=ports["gateway"])
        for name in START_ORDER:
            env = {**os.environ, **stack.env_for(name, http_port=ports[name]), "ALPR_HTTP_HOST": "127.0.0.1"}
            env["ALPR_LOG_FORMAT"] = log_format
            # no load balancer to take the service out of rotation here: Ctrl-C stops at once
            env.setdefault("ALPR_DRAIN_S", "0")
            if name == "gateway":
                env["ALPR_HTTP_WORKERS"] = str(gateway_workers)
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli.main", "serve", name],
                env=env,
                stdout=(logs / f"{name}.log").open("ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            # development hook: scripts/hostile_drill.py pauses the audit service by this pid (docs in the script)
            (run / f"{name}.pid").write_text(f"{procs[name].pid}\n")
        for name in START_ORDER:
            wait_ready(name, ports[name], procs[name])
        print_welcome(stack, ports["gateway"])
        files = {name: logs / f"{name}.log" for name in START_ORDER}
        echo = LogEcho(files, sys.stdout, min_level=echo_level) if echo_level and log_format == "json" else None
        while not stopping:
            if echo is not None:
                echo.poll()
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited ({proc.returncode}); stopping. See {logs / (name + '.log')}")
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nstopping services ...", flush=True)
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stack.stop_infrastructure()
        for pid_file in run.glob("*.pid"):
            pid_file.unlink()
        print("stopped.")


def print_welcome(stack: LocalStack, port: int) -> None:
    """The gateway's URL and commands to try it."""
    url = f"http://127.0.0.1:{port}"
    d = stack.data_dir
    print(
        f"""
ALPR is up. Gateway: {url}   (OpenAPI: {url}/docs)

Try it (in another terminal, from this folder):

  CAM=$(.venv/bin/alpr token --role camera --data-dir {d})
  OFFICER=$(.venv/bin/alpr token --role officer --data-dir {d})
  NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  curl -s -X POST {url}/v1/reads -H "Authorization: Bearer $CAM" -H 'Content-Type: application/json' \\
    -d "{{\\"plate\\": \\"8ABC123\\", \\"captured_at\\": \\"$NOW\\", \\"latitude\\": 37.3382, \\"longitude\\": -121.8863, \\"confidence\\": 0.93}}"
  sleep 1
  curl -s -X POST {url}/v1/searches -H "Authorization: Bearer $OFFICER" -H 'Content-Type: application/json' \\
    -d "{{\\"query\\": {{\\"plate\\": \\"8ABC123\\", \\"since\\": \\"$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)\\", \\"until\\": \\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)\\"}}, \\"purpose\\": {{\\"use\\": \\"stolen_or_wanted_vehicle\\", \\"case_number\\": \\"SJ-2026-004211\\", \\"reason\\": \\"Vehicle reported stolen at knifepoint on Story Road\\"}}}}"

Partner API: client id dev-partner, secret in {d}/dev-partner.secret (README, "Partner API")
Logs: {d}/logs/   Data: {d}/ (kept; a second `make run` reuses it)
Stop: Ctrl-C
""",
        flush=True,
    )
