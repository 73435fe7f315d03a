"""`alpr deadletter`: the operator's view of DEADLETTER, through the command line as an operator types it.

A dead letter holds a read, so `show` and `replay` are accesses: recorded (and confirmed) before anything
of the read is printed or republished, refused when the record cannot be confirmed. `list` shows none of it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from libs.common import deadletter as dl
from libs.common.streams import reads_subject
from services.cli.main import main

WHO = ["--operator", "Dana Reyes", "--badge", "4471", "--reason", "records rejected a read; checking why"]


async def a_dead_letter(system: Any) -> tuple[int, str]:
    """A read set aside by records-reads, as records keeps it; its sequence in DEADLETTER and its plate."""
    plate = "7" + uuid.uuid4().hex[:6].upper()
    bus = system.runtime("records").bus
    body = json.dumps({"plate": plate, "camera_id": "cam-dl", "lat": 37.33, "lon": -121.88}).encode()
    origin_seq = uuid.uuid4().int % 1_000_000_000
    await dl.dead_letter(
        bus,
        stream="READS",
        durable="records-reads",
        subject=reads_subject("CA0000000", "cam-dl"),
        sequence=origin_seq,
        deliveries=8,
        error=f"ValidationError: 1 validation error for ReadIn, input_value={{'plate': '{plate}'}}",
        body=body,
    )
    return (await bus.js.stream_info("DEADLETTER")).state.last_seq, plate


async def cli(argv: list[str]) -> int:
    """Run `alpr …` off the event loop, so the services it talks to keep answering; its exit code."""
    try:
        await asyncio.to_thread(main, argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


async def records_of(system: Any, seq: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return await conn.fetch(
            "SELECT event_type, actor, payload FROM audit.access_records "
            "WHERE event_type LIKE 'deadletter_%' AND (payload::jsonb) -> 'query' ->> 'deadletter_seq' = $1",
            str(seq),
        )
    finally:
        await conn.close()


class TestDeadletterCommand:
    def test_list_prints_json_an_operator_can_read(self, system, capsys: pytest.CaptureFixture[str]) -> None:
        main(["deadletter", "list", "--json", "--nats-url", system.stack.nats.url])
        listed = json.loads(capsys.readouterr().out)
        assert isinstance(listed, list)
        assert all({"seq", "origin", "origin_seq", "error", "at"} <= set(item) for item in listed)

    def test_an_unknown_dead_letter_is_named_and_exits_1(self, system, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exit_:
            main(["deadletter", "show", "999999999", *WHO, "--nats-url", system.stack.nats.url])
        assert exit_.value.code == 1
        assert "no dead letter 999999999" in capsys.readouterr().err


class TestListShowsNothingOfTheRead:
    async def test_list_prints_no_plate_nor_place(self, system, capsys: pytest.CaptureFixture[str]) -> None:
        seq, plate = await a_dead_letter(system)
        assert await cli(["deadletter", "list", "--json", "--nats-url", system.stack.nats.url]) == 0
        listed = json.loads(capsys.readouterr().out)
        mine = [item for item in listed if item["seq"] == seq]
        assert mine and set(mine[0]) == {"seq", "origin", "origin_seq", "deliveries", "error", "at"}
        assert mine[0]["error"] == "ValidationError"  # its kind: the text may quote the read
        assert await cli(["deadletter", "list", "--nats-url", system.stack.nats.url]) == 0
        captured = capsys.readouterr()
        assert str(seq) in captured.out
        for text in (json.dumps(listed), captured.out, captured.err):
            assert plate not in text and "cam-dl" not in text and "37.33" not in text
        assert await records_of(system, seq) == []  # not an access: no record


class TestShowIsRecorded:
    async def test_show_writes_a_record_with_operator_badge_and_reason(
        self, system, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seq, plate = await a_dead_letter(system)
        assert await cli(["deadletter", "show", str(seq), *WHO, "--nats-url", system.stack.nats.url]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert plate in shown["body"] and plate in shown["error"]
        [row] = await records_of(system, seq)
        assert row["event_type"] == "deadletter_view"
        actor = json.loads(row["actor"])
        assert (actor["kind"], actor["name"], actor["badge"]) == ("person", "Dana Reyes", "4471")
        payload = json.loads(row["payload"])
        assert payload["details"]["reason"] == "records rejected a read; checking why"
        assert payload["result_ids"] == [f"deadletter:{seq}"]
        # the account and machine it ran as, beside the name typed
        assert payload["details"]["os_account"] and payload["details"]["host"]

    async def test_the_operator_may_come_from_alpr_operator(
        self, system, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seq, plate = await a_dead_letter(system)
        monkeypatch.setenv("ALPR_OPERATOR", "Sam Ortiz")
        argv = ["deadletter", "show", str(seq), "--badge", "512", "--reason", "triage of ticket OPS-311, reads refused"]
        assert await cli([*argv, "--nats-url", system.stack.nats.url]) == 0
        assert plate in capsys.readouterr().out
        [row] = await records_of(system, seq)
        assert json.loads(row["actor"])["name"] == "Sam Ortiz"

    @pytest.mark.parametrize(
        "argv",
        [
            ["--badge", "4471", "--reason", "triage"],  # no operator
            ["--operator", "Dana Reyes", "--badge", "4471", "--reason", "   "],  # a blank reason
            ["--operator", "Dana Reyes", "--badge", "4471", "--reason", "tri\x00age"],  # not text
            ["--operator", "Dana Reyes", "--badge", "4471", "--reason", "curious"],  # says nothing of why
            ["--operator", "Dana Reyes", "--badge", "4471", "--reason", "test"],
            ["--operator", "Dana Reyes", "--badge", "4471", "--reason", "asdf asdf asdf"],
            ["--operator", "x", "--badge", "0", "--reason", "records rejected a read; checking why"],  # no one
        ],
    )
    async def test_show_without_who_and_why_is_refused(
        self, system, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
    ) -> None:
        monkeypatch.delenv("ALPR_OPERATOR", raising=False)
        seq, plate = await a_dead_letter(system)
        assert await cli(["deadletter", "show", str(seq), *argv, "--nats-url", system.stack.nats.url]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and plate not in captured.err
        assert await records_of(system, seq) == []


class TestReplayIsRecorded:
    async def test_replay_writes_its_record_before_republishing(
        self, system, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seq, _ = await a_dead_letter(system)
        assert await cli(["deadletter", "replay", str(seq), *WHO, "--nats-url", system.stack.nats.url]) == 0
        replayed = json.loads(capsys.readouterr().out)
        assert replayed["seq"] == seq and replayed["stream"] == "READS"
        [row] = await records_of(system, seq)
        assert row["event_type"] == "deadletter_replay"
        assert json.loads(row["actor"])["badge"] == "4471"


class TestNoRecordNoRead:
    async def test_show_with_the_audit_service_stopped_prints_nothing_and_exits_1(
        self, system, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seq, plate = await a_dead_letter(system)
        await system.stop_service("audit")
        try:
            code = await cli(["deadletter", "show", str(seq), *WHO, "--nats-url", system.stack.nats.url])
        finally:
            await system.start_service("audit")
        captured = capsys.readouterr()
        assert code == 1
        assert captured.out == ""
        assert "could not be recorded" in captured.err
        for text in (captured.out, captured.err):
            assert plate not in text and "cam-dl" not in text

    async def test_replay_with_the_audit_service_stopped_republishes_nothing(
        self, system, capsys: pytest.CaptureFixture[str]
    ) -> None:
        seq, plate = await a_dead_letter(system)
        js = system.runtime("records").bus.js
        reads_before = (await js.stream_info("READS")).state.last_seq
        await system.stop_service("audit")
        try:
            code = await cli(["deadletter", "replay", str(seq), *WHO, "--nats-url", system.stack.nats.url])
        finally:
            await system.start_service("audit")
        captured = capsys.readouterr()
        assert code == 1 and captured.out == "" and plate not in captured.err
        assert (await js.stream_info("READS")).state.last_seq == reads_before
        assert (await js.get_msg("DEADLETTER", seq)).seq == seq  # still kept
