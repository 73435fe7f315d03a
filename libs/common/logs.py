"""Structured logs: one JSON object a line on stdout (or a human line for a terminal), with the service,
the request id and the OpenTelemetry trace; credentials are redacted before a line is written."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace

LogFormat = Literal["json", "human"]
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("alpr_request_id", default=None)

# what a line may say about a request, taken from `extra=` (anything else in extra is not written)
HTTP_FIELDS = ("method", "route", "path", "status", "duration_ms", "client")
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

# A credential that slipped into a message (an exception quoting a header, a URL with its query) is cut
# out here, the last place before the line is written: header values, query or form parameters, DSN passwords.
_SECRET_WORDS = r"(?:key|api[_-]?key|token|access_token|id_token|refresh_token|client_secret|secret|password|code)"
_REDACTIONS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (re.compile(r"(?i)(authorization|x-api-key|cookie)([\"']?\s*[:=]\s*[\"']?)[^\"',;\s]+"), r"\1\2[redacted]"),
    (re.compile(rf"(?i)([?&;\s\"']{_SECRET_WORDS}[\"']?\s*[=:]\s*[\"']?)[^&\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(\w+://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
)


def redact(text: str) -> str:
    """The text with every credential-looking value replaced by `[redacted]`."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _trace_ids() -> tuple[str | None, str | None]:
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, service, message, trace and request ids, HTTP fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = _trace_ids()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self.service,
            "message": redact(record.getMessage()),
            "trace_id": getattr(record, "trace_id", None) or trace_id,
            "span_id": getattr(record, "span_id", None) or span_id,
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get(),
        }
        for name in HTTP_FIELDS:
            if name in record.__dict__:
                value = record.__dict__[name]
                line[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        # the ids are always present (null outside a request or trace) so every line has one shape
        return json.dumps(line, default=str)


class HumanFormatter(logging.Formatter):
    """A short line for a person at a terminal: time, level, service, logger, message, request id."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S.%f")[:-3]
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        # a caller's text (a path, a header) must not start a line of its own and pass for another entry
        message = redact(record.getMessage()).replace("\r", "\\r").replace("\n", "\\n")
        text = f"{when} {record.levelname:<7} {self.service} {record.name}: {message}"
        if request_id:
            text += f" [{request_id}]"
        if record.exc_info:
            text += "\n" + redact(self.formatException(record.exc_info))
        return text


def log_format_from_env() -> LogFormat:
    """`ALPR_LOG_FORMAT`: `json` (the default, what collectors parse) or `human`."""
    chosen = os.environ.get("ALPR_LOG_FORMAT", "json").strip().lower()
    if chosen not in ("json", "human"):
        raise SystemExit(f"ALPR_LOG_FORMAT must be json or human, not {chosen!r}")
    return "human" if chosen == "human" else "json"


def logging_config(service: str, *, log_format: LogFormat = "json", level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` document: every logger of the process (uvicorn's too, in each worker
    process it starts) writes through one handler on stdout in one format."""
    formatter = JsonFormatter if log_format == "json" else HumanFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"alpr": {"()": f"{__name__}.{formatter.__name__}", "service": service}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "alpr", "stream": "ext://sys.stdout"}},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # our access log (request_telemetry.py) names the route and the request id; uvicorn's would repeat it
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
    }
