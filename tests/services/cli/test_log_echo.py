"""`alpr up` echoes the services' warnings and errors from their JSON logs as human lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

from services.cli.log_echo import LogEcho, human_line


def _entry(level: str, message: str, **more: object) -> str:
    base = {"time": "2026-12-06T15:00:01.234+00:00", "level": level, "logger": "alpr.x", "service": "records"}
    return json.dumps({**base, "message": message, **more}) + "\n"


class TestLogEcho:
    def test_new_warnings_are_echoed_as_one_human_line_each(self, tmp_path: Path) -> None:
        log = tmp_path / "records.log"
        log.write_text(_entry("error", "written before alpr up looked"))
        out = io.StringIO()
        echo = LogEcho({"records": log}, out)
        with log.open("a") as handle:
            handle.write(_entry("info", "stored 3 reads"))
            handle.write(_entry("warning", "fetch from records-reads failed: x\nforged", request_id="r-1"))
            handle.write(_entry("error", "half a line")[:30])
        assert echo.poll() == 1
        expected = "15:00:01.234 WARNING records alpr.x: fetch from records-reads failed: x\\nforged [r-1]\n"
        assert out.getvalue() == expected
        with log.open("a") as handle:
            handle.write(_entry("error", "half a line")[30:])
            handle.write("Traceback (most recent call last): not JSON\n")
        assert echo.poll() == 2
        assert "ERROR   records alpr.x: half a line" in out.getvalue()
        assert "records: Traceback (most recent call last): not JSON" in out.getvalue()

    def test_an_exception_is_summarised_by_its_last_line(self) -> None:
        entry = json.loads(_entry("error", "failed", exception="Traceback ...\n  File x\nValueError: bad"))
        assert human_line(entry).endswith("failed (ValueError: bad)")
