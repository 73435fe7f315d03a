"""What every door checks before anything is accepted: text, nesting, and the window a read's time may fall in.

One place, shared by the gateway (which refuses at the door) and the services behind it (which refuse the
same things again from the bus), so nothing is answered "accepted" that a later step would refuse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from libs.common.errors import InvalidInput, MalformedPayload

# C0 controls and DEL; tab, newline and carriage return are allowed only where a format allows lines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_LINE = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

DEFAULT_TEXT_MAX = 4_000  # a free-text field (a reason, a note) when its own limit is not stated
MAX_JSON_DEPTH = 32  # no document we accept nests deeper; deep nesting is an attack on the parser
DEFAULT_CLOCK_SKEW_S = 600.0  # how far ahead of our clock a camera's clock may run
# No instant we store or search is outside these; past them datetime arithmetic and PostgreSQL overflow.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)
# What a timestamp looks like in JSON or a query string; anything else is left to the field's own type.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}|$)")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why this text may not be stored, as a stable code, or None when it may."""
    if value.isprintable():  # no control, no surrogate: the common case, decided in C without a regex
        return None
    if (_CONTROL if multiline else _CONTROL_OR_LINE).search(value):
        return "control_character"
    if not value.isascii() and _SURROGATE.search(value):
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


def check_instant(at: datetime, *, field: str) -> datetime:
    """The instant unchanged, or InvalidInput when it falls outside the years any record can carry."""
    try:
        moment = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    except OverflowError:
        moment = None  # year 1 or 9999 with an offset: not even representable in UTC
    if moment is None or not EARLIEST_INSTANT <= moment < LATEST_INSTANT:
        raise InvalidInput(
            f"{field} must fall between {EARLIEST_INSTANT.year} and {LATEST_INSTANT.year - 1}",
            code="time_out_of_range",
            field=field,
        )
    return at


def check_timestamp_text(value: str, *, field: str) -> None:
    """Refuse text that is an ISO 8601 date or timestamp outside the instants we can carry; other text passes."""
    if not _TIMESTAMP.match(value):
        return
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return  # not a timestamp Python reads; the field's own type decides
    check_instant(at, field=field)


def check_query_string(raw: bytes | str) -> None:
    """Every query parameter, name and value, is one line of text and any timestamp in it is in range."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    for name, value in parse_qsl(text, keep_blank_values=True):
        check_text(name, field="query", max_length=None)
        check_text(value, field=name, max_length=DEFAULT_TEXT_MAX)
        check_timestamp_text(value, field=name)


def _pydantic_rule(multiline: bool) -> AfterValidator:
    def rule(value: str) -> str:
        problem = text_problem(value, multiline=multiline)
        if problem is not None:
            raise PydanticCustomError("invalid_text", "the text contains {problem}", {"problem": problem})
        return value

    return AfterValidator(rule)


def _pydantic_instant(at: datetime) -> datetime:
    try:
        return check_instant(at, field="time")
    except InvalidInput as err:
        raise PydanticCustomError("time_out_of_range", err.message) from None


# For contract fields: one line of text (a name, an id, a case number) and free text where lines are allowed.
Line = Annotated[str, _pydantic_rule(multiline=False)]
Note = Annotated[str, _pydantic_rule(multiline=True)]
Instant = Annotated[datetime, AfterValidator(_pydantic_instant)]
AwareInstant = Annotated[AwareDatetime, AfterValidator(_pydantic_instant)]


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


def check_document_text(document: Any, *, multiline: bool = True, path: str = "", timestamps: bool = False) -> None:
    """Refuse a decoded document any of whose strings (or keys) could not be stored as sent.

    With `timestamps`, any string that is an ISO 8601 timestamp must also fall in the instants we carry.
    """
    if not timestamps and _all_printable(document):
        return  # the common case, decided without naming each string's path (only a refusal needs it)
    for field, value in walk_strings(document, path):
        check_text(value, field=field, max_length=None, multiline=multiline)
        if timestamps:
            check_timestamp_text(value, field=field)


def _all_printable(document: Any) -> bool:
    """Whether every string and key of a decoded document is printable (so no text_problem has anything)."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isprintable():
                return False
        elif isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str) or not key.isprintable():
                    return False
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return True


def load_json(raw: bytes | str, *, limit: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON bounded in depth; MalformedPayload (malformed_json, json_too_deep) otherwise.

    The C parser stops itself at the interpreter's recursion limit, so the depth is measured on what it
    built (containers only) rather than by a scan of every character: a camera post carries megabytes.
    NaN and Infinity are not JSON and PostgreSQL refuses them, so they are refused here.
    """
    try:
        # what json.loads(raw, parse_constant=_not_json) does, without building a decoder per call
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
        document = _DECODER.decode(text)
    except RecursionError:
        raise _too_deep(limit) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}", code="malformed_json") from None
    if _nesting_exceeds(document, limit):
        raise _too_deep(limit)
    return document


def _too_deep(limit: int) -> MalformedPayload:
    return MalformedPayload(f"the JSON nests deeper than {limit} levels", code="json_too_deep", max_depth=limit)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_not_json)


def _nesting_exceeds(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def backup_margin_days(*, recovery_window_days: int, backup_interval_days: int, check_slack_days: int) -> int:
    """Days a backup may still hold a read after the live database purged it.

    CloudNativePG's recovery-window retention keeps the last base backup taken before the window until the next
    one completes (one backup interval more), and the retention check runs on its own schedule (its slack).
    """
    return recovery_window_days + backup_interval_days + check_slack_days


def active_retention_days(
    retention_days: int, *, recovery_window_days: int, backup_interval_days: int, check_slack_days: int
) -> int:
    """Days a read stays in the live database, so that no backup ever holds it past the retention period.

    365 − (30 + 1 + 1) = 333: a read purged at 333 days lives at most 32 days more in a backup.
    """
    margin = backup_margin_days(
        recovery_window_days=recovery_window_days,
        backup_interval_days=backup_interval_days,
        check_slack_days=check_slack_days,
    )
    return retention_days - margin


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
