"""`alpr up` in a terminal: the services' JSON log lines, as they are written to `.alpr/logs/`, echoed as short
human lines (warnings and errors by default), so a person sees trouble without opening five files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}


def human_line(entry: dict[str, Any]) -> str:
    """One log entry as `HH:MM:SS level service logger: message [request id]`, on one line."""
    when = str(entry.get("time", ""))[11:23]
    message = str(entry.get("message", "")).replace("\r", "\\r").replace("\n", "\\n")
    level = str(entry.get("level", "")).upper()
    text = f"{when} {level:<7} {entry.get('service', '?')} {entry.get('logger', '')}: {message}"
    if entry.get("request_id"):
        text += f" [{entry['request_id']}]"
    if entry.get("exception"):
        text += f" ({str(entry['exception']).strip().splitlines()[-1]})"
    return text


class LogEcho:
    """Follows each service's log file from its current end and prints new entries at or above a level."""

    def __init__(self, files: dict[str, Path], out: TextIO, *, min_level: str = "warning") -> None:
        self.out = out
        self.min_level = LEVELS[min_level]
        self.offsets = {name: path.stat().st_size if path.exists() else 0 for name, path in files.items()}
        self.files = files
        self.partial = {name: "" for name in files}

    def poll(self) -> int:
        """Print what was written since the last poll; returns how many lines were printed."""
        printed = 0
        for name, path in self.files.items():
            if not path.exists():
                continue
            with path.open("r", encoding="utf-8", errors="replace") as handle:
                handle.seek(self.offsets[name])
                chunk = handle.read()
                self.offsets[name] = handle.tell()
            lines = (self.partial[name] + chunk).split("\n")
            self.partial[name] = lines.pop()  # a line still being written waits for its end
            for line in lines:
                if line.strip() and self._wanted(line):
                    print(self._render(name, line), file=self.out, flush=True)
                    printed += 1
        return printed

    def _wanted(self, line: str) -> bool:
        try:
            level = str(json.loads(line).get("level", "info"))
        except (ValueError, AttributeError):
            return True  # not JSON (a crash before logging was set up): always worth seeing
        return LEVELS.get(level, 20) >= self.min_level

    @staticmethod
    def _render(name: str, line: str) -> str:
        try:
            entry = json.loads(line)
        except ValueError:
            return f"{name}: {line}"
        return human_line(entry) if isinstance(entry, dict) else f"{name}: {line}"
