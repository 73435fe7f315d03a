"""Storing an access record that cannot be stored as sent: the offending characters escaped, and the escape marked.

An access record is never dropped or dead-lettered. PostgreSQL refuses U+0000 (in text, and as `\\u0000` in
jsonb), the UTF-8 encoder refuses lone surrogates, and the event contract refuses control characters, so in a
string holding any of them `\\` is written `\\\\` and each of them `\\uXXXX` (lower-case hex). The record's
payload names the scheme and the escaped fields under `stored_escaped`, so the original is recovered exactly
and the chain hashes what was stored.
"""

from __future__ import annotations

import re
from typing import Any

SCHEME = "alpr-escape-1"
MARK = "stored_escaped"
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# what is escaped in a string: the unstorable, and the controls the contract refuses (so the event keeps its type)
_ESCAPED = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def escape_text(value: str) -> str:
    """The text with `\\` doubled and each control or unstorable character as `\\uXXXX`; unchanged without any."""
    if not _ESCAPED.search(value):
        return value
    return _ESCAPED.sub(lambda m: f"\\u{ord(m[0]):04x}", value.replace("\\", "\\\\"))


def unescape_text(value: str) -> str:
    """The inverse of `escape_text`, for a field the record lists as escaped."""
    return re.sub(r"\\(\\|u[0-9a-f]{4})", lambda m: "\\" if m[1] == "\\" else chr(int(m[1][1:], 16)), value)


def escape_document(value: Any, path: str, escaped: list[str]) -> Any:
    """A decoded JSON value with every unstorable string (keys too) escaped; their paths appended to `escaped`."""
    if isinstance(value, str):
        out = escape_text(value)
        if out is not value:
            escaped.append(path)
        return out
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            name = escape_text(str(key))
            if name is not key:
                escaped.append(f"{path}.{{key}}{name}")
            result[name] = escape_document(item, f"{path}.{name}", escaped)
        return result
    if isinstance(value, list):
        return [escape_document(item, f"{path}[{i}]", escaped) for i, item in enumerate(value)]
    return value


def mark(escaped: list[str], *, reason: str) -> dict[str, Any]:
    """The payload entry that says which fields were escaped, how, and why."""
    return {"scheme": SCHEME, "fields": sorted(escaped), "reason": reason}


# `\u0000` in JSON text (jsonb refuses it), not a written-out backslash before `u0000` (`\\u0000`)
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def storable(text: str) -> bool:
    """Whether JSON text holds nothing PostgreSQL or the UTF-8 encoder would refuse."""
    return not _UNSTORABLE.search(text) and ("\\u0000" not in text or not _JSON_NUL.search(text))


def sent_event_id(document: Any) -> str | None:
    """The event id a decoded body names, as the writer stores it (escaped); None where it names none.

    The writer stores even a body that is no audit event under the id it names, so the stream witness,
    which reads the same bodies, finds every acknowledged event in the log.
    """
    if isinstance(document, dict) and isinstance(document.get("event_id"), str | int) and document["event_id"] != "":
        return escape_text(str(document["event_id"]))
    return None
