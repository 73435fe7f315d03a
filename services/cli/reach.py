"""How a command reaches the system: the `ALPR_*` settings when given, else the local stack that `alpr up`
(`make run`) keeps in ALPR_DATA_DIR (default `.alpr`), so no flag is needed on a developer's machine.

The local stack's addresses are read from the files its servers write: PostgreSQL's `postmaster.pid`
(its fourth line is the port) and the NATS configuration `alpr up` writes (`listen: "127.0.0.1:PORT"`).
A failure here is a `CommandError`: one line for the operator, never a traceback.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATA_DIR = ".alpr"
_NATS_LISTEN = re.compile(r'^listen:\s*"?([\w.-]+):(\d+)"?', re.MULTILINE)


class CommandError(Exception):
    """A refusal a command prints as one line and exits with `exit_code` (2: usage, 1: the work failed)."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def data_dir() -> Path:
    """ALPR_DATA_DIR, as `alpr up` and `alpr token` use it."""
    return Path(os.environ.get("ALPR_DATA_DIR", DEFAULT_DATA_DIR))


@dataclass(frozen=True)
class RunningStack:
    """The addresses of a running local stack."""

    folder: Path
    postgres_port: int
    nats_url: str

    def database_url(self, role: str) -> str:
        return f"postgresql+asyncpg://{role}@127.0.0.1:{self.postgres_port}/alpr"

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres_port}/alpr"

    @property
    def audit_signing_key_file(self) -> Path | None:
        path = self.folder / "audit-signing.key"
        return path if path.is_file() else None


def find_local_stack(folder: Path | None = None) -> RunningStack:
    """The stack in `folder` (ALPR_DATA_DIR); CommandError when none has run there."""
    folder = (folder or data_dir()).resolve()
    pid_file, nats_conf = folder / "postgres" / "postmaster.pid", folder / "nats.conf"
    if not pid_file.is_file() or not nats_conf.is_file():
        raise CommandError(f"no local stack in {folder}: start one with `make run` (or set the ALPR_* settings)")
    lines = pid_file.read_text().splitlines()
    listen = _NATS_LISTEN.search(nats_conf.read_text())
    if len(lines) < 4 or not lines[3].strip().isdigit() or listen is None:
        raise CommandError(f"the local stack in {folder} is not running: start it with `make run`")
    return RunningStack(folder, int(lines[3]), f"nats://{listen.group(1)}:{listen.group(2)}")


def setting_or_local(name: str, given: str | None, local: str | None = None) -> str:
    """`given` (a flag), else the ALPR_ setting `name`, else what the local stack says; CommandError if none."""
    value = given or os.environ.get(name) or local
    if not value:
        raise CommandError(f"set {name} or start the local stack (`make run`)")
    return value


def check_reachable(url: str, what: str, *, timeout_s: float = 3.0) -> None:
    """A TCP connect to the URL's host and port: an unreachable server is one line now, not a hang or a trace."""
    parts = urlsplit(url)
    default = {"nats": 4222, "tls": 4222}.get(parts.scheme, 5432)
    host, port = parts.hostname or "127.0.0.1", parts.port or default
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except OSError as exc:
        raise CommandError(f"{what} at {host}:{port} is unreachable ({exc.strerror or exc})", exit_code=1) from None
