"""Log lines: JSON with the fields an SRE filters on, credentials cut out even from messages and tracebacks."""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from libs.common.logs import REQUEST_ID, HumanFormatter, JsonFormatter, logging_config, redact


def _record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("upstream said: Authorization: Bearer eyJhbGciOi.secret.sig")
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("alpr.test", logging.WARNING, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


class TestRedaction:
    def test_credentials_in_free_text_are_cut_out(self) -> None:
        text = redact(
            "GET /v1/x?key=abc123&page=2 Authorization: Bearer tok.en.sig X-API-Key: k-999 "
            "client_secret=hunter2 postgresql+asyncpg://alpr_gateway:pw0rd@db:5432/alpr"
        )
        for secret in ("abc123", "tok.en.sig", "k-999", "hunter2", "pw0rd"):
            assert secret not in text
        assert "page=2" in text and "alpr_gateway" in text and "db:5432" in text

    def test_plain_text_is_left_alone(self) -> None:
        assert redact("stored 500 reads for camera CAM-1 in 12 ms") == "stored 500 reads for camera CAM-1 in 12 ms"


class TestJsonLines:
    def test_a_line_carries_service_level_request_and_trace(self) -> None:
        tracer = TracerProvider().get_tracer("test")
        token = REQUEST_ID.set("req-42")
        try:
            with tracer.start_as_current_span("work") as span:
                line = json.loads(JsonFormatter("records").format(_record("stored %d reads", 3, status=200)))
                expected_trace = format(span.get_span_context().trace_id, "032x")
        finally:
            REQUEST_ID.reset(token)
        assert line["service"] == "records" and line["level"] == "warning" and line["logger"] == "alpr.test"
        assert line["message"] == "stored 3 reads" and line["request_id"] == "req-42" and line["status"] == 200
        assert line["trace_id"] == expected_trace and len(line["span_id"]) == 16
        assert line["time"].endswith("+00:00")

    def test_a_traceback_is_one_line_and_redacted(self) -> None:
        formatted = JsonFormatter("gateway").format(_record("failed", exc=True))
        assert "\n" not in formatted
        line = json.loads(formatted)
        assert "RuntimeError" in line["exception"] and "eyJhbGciOi" not in line["exception"]

    def test_no_trace_outside_a_span(self) -> None:
        assert trace.get_current_span().get_span_context().is_valid is False
        line = json.loads(JsonFormatter("audit").format(_record("idle")))
        assert line["trace_id"] is None and line["span_id"] is None and line["request_id"] is None

    def test_the_human_format_is_one_readable_line(self) -> None:
        text = HumanFormatter("gateway").format(_record("token Bearer abc.def.ghi refused"))
        assert "WARNING" in text and "gateway" in text and "abc.def.ghi" not in text
        forged = HumanFormatter("gateway").format(_record("GET %s 404", "/x\n12:00:00.000 INFO    fake"))
        assert "\n" not in forged

    def test_uvicorns_loggers_go_through_the_one_handler_and_its_access_log_is_off(self) -> None:
        config = logging_config("sharing", log_format="json", level="info")
        assert config["root"]["handlers"] == ["stdout"]
        assert config["loggers"]["uvicorn.error"] == {"handlers": [], "propagate": True}
        assert config["loggers"]["uvicorn.access"]["propagate"] is False
        assert config["formatters"]["alpr"]["()"].endswith("JsonFormatter")
