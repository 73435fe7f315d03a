"""Fixtures for the vendor payload normalizers: sample files and multipart bodies built in the test."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.gateway.ingest import ParsedPayload, parse_payload

REPO = Path(__file__).resolve().parents[4]
RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

Parse = Callable[..., ParsedPayload]
FormBuilder = Callable[[list[tuple[str, str | None, str | None, bytes]]], tuple[bytes, str]]


@pytest.fixture(scope="session")
def vendor_samples() -> Path:
    """The shared vendor samples (ALPR_SHARED_DIR, default <repo>/../shared)."""
    shared = Path(os.environ.get("ALPR_SHARED_DIR", REPO.parent / "shared"))
    folder = shared / "samples" / "vendors"
    if not folder.is_dir():
        pytest.skip(f"vendor samples not found at {folder}")
    return folder


@pytest.fixture
def parse() -> Parse:
    """parse_payload with a fixed agency, camera and arrival time."""

    def run(body: bytes, content_type: str = "application/json", fmt: str | None = None, **kw: object) -> ParsedPayload:
        args: dict[str, object] = {"agency": "ca-sfpd", "camera_id": "cam-7", "received_at": RECEIVED} | kw
        return parse_payload(body, content_type, format=fmt, **args)  # type: ignore[arg-type]

    return run


@pytest.fixture
def form_body() -> FormBuilder:
    """A multipart/form-data body from (name, filename, content type, data) parts, CRLF as browsers send."""

    def build(parts: list[tuple[str, str | None, str | None, bytes]]) -> tuple[bytes, str]:
        boundary = "----alprTestBoundary7MA4YWxkTrZu0gW"
        chunks: list[bytes] = []
        for name, filename, content_type, data in parts:
            disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
            head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
            if content_type:
                head += f"Content-Type: {content_type}\r\n"
            chunks.append(head.encode() + b"\r\n" + data + b"\r\n")
        body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
        return body, f"multipart/form-data; boundary={boundary}"

    return build
