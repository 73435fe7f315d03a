"""`alpr deadletter`: the operator's view of DEADLETTER, through the command line as an operator types it."""

from __future__ import annotations

import json

import pytest

from services.cli.main import main


class TestDeadletterCommand:
    def test_list_prints_json_an_operator_can_read(self, system, capsys: pytest.CaptureFixture[str]) -> None:
        main(["deadletter", "list", "--json", "--nats-url", system.stack.nats.url])
        listed = json.loads(capsys.readouterr().out)
        assert isinstance(listed, list)
        assert all({"seq", "origin", "origin_seq", "error", "at"} <= set(item) for item in listed)

    def test_an_unknown_dead_letter_is_named_and_exits_1(self, system, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_:
            main(["deadletter", "show", "999999999", "--nats-url", system.stack.nats.url])
        assert exit_.value.code == 1
        assert "no dead letter 999999999" in capsys.readouterr().err
