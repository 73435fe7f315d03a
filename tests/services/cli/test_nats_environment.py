"""The local nats-server runs with one Go scheduler thread (it shares the cores with PostgreSQL and every service),
unless the operator's environment says otherwise (the cluster's nodes: test_cluster.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.embedded import nats_environment
from services.cli.stack import LocalStack


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_the_running_stacks_nats_server_has_one_go_thread(stack: LocalStack) -> None:
    assert stack.nats.proc is not None
    environment = _environ_of(stack.nats.proc.pid)
    assert environment["GOMAXPROCS"] == "1"
    assert environment.get("PATH")  # the caller's environment is kept, not replaced


def test_an_operators_own_gomaxprocs_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOMAXPROCS", raising=False)
    assert nats_environment({"GOMAXPROCS": "4", "HOME": "/x"}) == {"GOMAXPROCS": "4", "HOME": "/x"}
    assert nats_environment({})["GOMAXPROCS"] == "1"
    # found in review: the cluster's nodes start from an empty environment, so an operator's GOMAXPROCS was
    # replaced by 1 there while `alpr up` and the tests' stack kept it
    monkeypatch.setenv("GOMAXPROCS", "3")
    assert nats_environment({}) == {"GOMAXPROCS": "3"}
    assert nats_environment()["GOMAXPROCS"] == "3"
