"""What every door checks before anything is accepted: text, nesting, and the window a read's time may fall in.

One place, shared by the gateway (which refuses at the door) and the services behind it (which refuse the
same things again from the bus), so nothing is answered "accepted" that a later step would refuse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from libs.common.errors import InvalidInput, MalformedPayload

# C0 controls and DEL; tab, newline and carriage return are allowed only where a format allows lines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_LINE = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

DEFAULT_TEXT_MAX = 4_000  # a free-text field (a reason, a note) when its own limit is not stated
MAX_JSON_DEPTH = 32  # no document we accept nests deeper; deep nesting is an attack on the parser
DEFAULT_CLOCK_SKEW_S = 600.0  # how far ahead of our clock a camera's clock may run


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why this text may not be stored, as a stable code, or None when it may."""
    if (_CONTROL if multiline else _CONTROL_OR_LINE).search(value):
        return "control_character"
    if _SURROGATE.search(value):
        return "lone_surrogate"
    return None


def check_text(value: str, *, field: str, max_length: int | None = DEFAULT_TEXT_MAX, multiline: bool = False) -> str:
    """The text unchanged, or InvalidInput naming the field (NUL, other controls, lone surrogates, too long)."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        what = "a control character" if problem == "control_character" else "a lone surrogate"
        raise InvalidInput(f"{field} contains {what}", code="invalid_text", field=field, reason=problem)
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            f"{field} is longer than {max_length} characters", code="text_too_long", field=field, max_length=max_length
        )
    return value


def walk_strings(document: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string of a decoded JSON document, keys included, with its path (`reads[3].plate`)."""
    stack: list[tuple[str, Any]] = [(path, document)]
    while stack:
        here, node = stack.pop()
        if isinstance(node, str):
            yield here or "body", node
        elif isinstance(node, dict):
            for key, value in node.items():
                child = f"{here}.{key}" if here else str(key)
                yield child, str(key)
                stack.append((child, value))
        elif isinstance(node, list):
            stack.extend((f"{here}[{i}]", item) for i, item in enumerate(node))


def check_document_text(document: Any, *, multiline: bool = True, path: str = "") -> None:
    """Refuse a decoded document any of whose strings (or keys) could not be stored as sent."""
    for field, value in walk_strings(document, path):
        check_text(value, field=field, max_length=None, multiline=multiline)


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets nest deeper than `limit`, counted on the raw text before any parser recurses.

    Brackets inside strings are skipped, so a plate of `[[[` is not mistaken for nesting.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def load_json(raw: bytes | str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON bounded in depth; MalformedPayload (malformed_json, json_too_deep) otherwise."""
    if json_depth_exceeds(raw, limit):
        raise MalformedPayload(f"the JSON nests deeper than {limit} levels", code="json_too_deep", max_depth=limit)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}", code="malformed_json") from None


def retention_cutoff(now: datetime, active_retention_days: int) -> datetime:
    """Reads captured before this moment may not be kept in the live database (the purge uses this too)."""
    return now - timedelta(days=active_retention_days)


def capture_window(
    now: datetime, *, active_retention_days: int, clock_skew_s: float = DEFAULT_CLOCK_SKEW_S
) -> tuple[datetime, datetime]:
    """The times a read may carry and be stored: from the purge cutoff to a little past our clock."""
    return retention_cutoff(now, active_retention_days), now + timedelta(seconds=clock_skew_s)


def check_captured_at(
    at: datetime,
    *,
    now: datetime | None = None,
    active_retention_days: int,
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S,
    field: str = "captured_at",
) -> datetime:
    """The time unchanged, or InvalidInput: older than the purge would keep, or ahead of our clock."""
    if at.tzinfo is None:
        raise InvalidInput(f"{field} must carry a time zone", code="invalid_field", field=field)
    earliest, latest = capture_window(
        now or datetime.now(UTC), active_retention_days=active_retention_days, clock_skew_s=clock_skew_s
    )
    if at < earliest:
        raise InvalidInput(
            f"{field} is older than the retention period allows", code="captured_before_retention", field=field
        )
    if at > latest:
        raise InvalidInput(f"{field} is in the future", code="captured_in_future", field=field)
    return at
