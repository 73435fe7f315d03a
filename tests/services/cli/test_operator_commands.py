"""The operators' CLI (issue 27, item 5): every command finds the local stack from ALPR_DATA_DIR with no flag,
says what each option does, and answers a missing setting or an unreachable server in one line, never a
traceback, with a nonzero exit."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from services.cli.main import build_parser, main
from services.cli.reach import CommandError, find_local_stack

pytestmark = pytest.mark.asyncio(loop_scope="session")
SETTINGS = ("ALPR_DATABASE_URL", "ALPR_ADMIN_DATABASE_URL", "ALPR_NATS_URL", "ALPR_AUDIT_PUBLIC_KEYS")


async def cli(argv: list[str]) -> int:
    """Run `alpr …` off the event loop, so the services it talks to keep answering; its exit code."""
    try:
        await asyncio.to_thread(main, argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*SETTINGS, "ALPR_AUDIT_SIGNING_KEY", "ALPR_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def options(parser: argparse.ArgumentParser, path: str = "alpr") -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:  # argparse offers no public walk of its options
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += options(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((path, action))
    return found


class TestHelp:
    async def test_every_option_of_every_command_says_what_it_does(self) -> None:
        bare = [f"{path} {action.dest}" for path, action in options(build_parser()) if not action.help]
        assert not bare, bare


class TestFindingTheStack:
    async def test_the_session_stack_is_found_from_its_folder(self, system) -> None:
        found = find_local_stack(system.stack.data_dir)
        assert found.postgres_port == system.stack.pg.port
        assert found.nats_url == system.stack.nats.url
        assert found.audit_signing_key_file == system.stack.data_dir / "audit-signing.key"

    async def test_a_folder_without_a_stack_is_one_line(self, tmp_path: Path) -> None:
        with pytest.raises(CommandError, match=r"no local stack in .*make run"):
            find_local_stack(tmp_path)

    async def test_audit_verify_needs_no_flag(self, system, no_settings, capsys) -> None:
        no_settings.setenv("ALPR_DATA_DIR", str(system.stack.data_dir))
        assert await cli(["audit", "verify"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["ok"] is True

    async def test_purge_needs_no_flag(self, system, no_settings, capsys) -> None:
        no_settings.setenv("ALPR_DATA_DIR", str(system.stack.data_dir))
        assert await cli(["purge", "--now"]) == 0
        assert "ran" in json.loads(capsys.readouterr().out)


class TestOneLineErrors:
    @pytest.mark.parametrize(
        ("argv", "code", "said"),
        [
            (["audit", "verify"], 2, "alpr audit verify: set ALPR_DATABASE_URL or start the local stack"),
            (["purge", "--now"], 2, "alpr purge: set ALPR_NATS_URL or start the local stack"),
            (["deadletter", "list"], 2, "alpr deadletter list: set ALPR_NATS_URL or start the local stack"),
            (["migrate"], 2, "alpr migrate: set ALPR_ADMIN_DATABASE_URL or start the local stack"),
        ],
    )
    async def test_no_stack_and_no_setting(self, argv, code, said, no_settings, tmp_path, capsys) -> None:
        no_settings.setenv("ALPR_DATA_DIR", str(tmp_path))
        assert await cli(argv) == code
        err = capsys.readouterr().err
        assert err.startswith(said) and err.count("\n") == 1, err

    async def test_an_unreachable_bus(self, no_settings, tmp_path, capsys) -> None:
        no_settings.setenv("ALPR_DATA_DIR", str(tmp_path))
        no_settings.setenv("ALPR_NATS_URL", "nats://127.0.0.1:9")
        assert await cli(["purge", "--now"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("alpr purge: the bus at 127.0.0.1:9 is unreachable") and err.count("\n") == 1

    async def test_a_refused_setting_names_it(self, no_settings: Any, capsys) -> None:
        for name in ("ALPR_OIDC_ISSUER", "ALPR_OIDC_JWKS_PATH", "ALPR_OIDC_JWKS_URL"):
            no_settings.delenv(name, raising=False)
        code = await cli(["serve", "gateway"])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("alpr serve: settings refused: ALPR_") and err.count("\n") == 1, err
        assert "Traceback" not in err
