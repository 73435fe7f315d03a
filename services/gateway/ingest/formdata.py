"""multipart/form-data bodies split into named parts, bytes untouched."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from libs.common.errors import MalformedPayload, PayloadTooLarge

# Parts of one camera post: the event document and its few pictures. 130,000 tiny parts held the event loop
# 3.5 s while split and parsed; more than this is refused before any part is.
FORM_PARTS_MAX = 32


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def header_param(header: str, param: str, *, field: str = "content-type") -> str | None:
    """A parameter of a MIME header value, quoting undone."""
    message = Message()
    message[field] = header
    value = message.get_param(param, header=field)
    if isinstance(value, tuple):  # RFC 2231 encoded value
        value = value[2]
    return value if isinstance(value, str) else None


def parse_form(body: bytes, content_type: str) -> list[FormPart]:
    """Parts in the order sent; a missing boundary or closing delimiter is malformed."""
    boundary = header_param(content_type, "boundary")
    if not boundary:
        raise MalformedPayload("multipart body without a boundary", code="malformed_multipart")
    delimiter = b"--" + boundary.encode("latin-1")
    # one delimiter opens each part and one closes the last: counted in one C scan, nothing split yet
    if body.count(delimiter) > FORM_PARTS_MAX + 1:
        raise too_many_parts()
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise MalformedPayload("multipart body has no complete part", code="malformed_multipart")
    parts: list[FormPart] = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            return parts
        parts.append(_part(_trim_line_breaks(chunk)))
    # Cameras that lose the closing delimiter mid-send leave a part we cannot trust.
    raise MalformedPayload("multipart body is not terminated", code="malformed_multipart")


def too_many_parts() -> PayloadTooLarge:
    """The refusal (413) of a form of more than FORM_PARTS_MAX parts or fields."""
    return PayloadTooLarge(
        f"a camera post may have at most {FORM_PARTS_MAX} parts", code="too_many_parts", limit=FORM_PARTS_MAX
    )


def _trim_line_breaks(chunk: bytes) -> bytes:
    if chunk.startswith(b"\r\n"):
        chunk = chunk[2:]
    elif chunk.startswith(b"\n"):
        chunk = chunk[1:]
    if chunk.endswith(b"\r\n"):
        return chunk[:-2]
    return chunk[:-1] if chunk.endswith(b"\n") else chunk


def _part(chunk: bytes) -> FormPart:
    head, sep, data = chunk.partition(b"\r\n\r\n")
    if not sep:
        head, sep, data = chunk.partition(b"\n\n")
    if not sep:
        # A part with headers only: some cameras send an empty picture part this way.
        head, data = chunk, b""
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        key, colon, value = line.partition(":")
        if colon:
            headers[key.strip().lower()] = value.strip()
    disposition = headers.get("content-disposition", "")
    name = header_param(disposition, "name", field="content-disposition")
    if name is None:
        raise MalformedPayload("multipart part without a name", code="malformed_multipart")
    filename = header_param(disposition, "filename", field="content-disposition")
    return FormPart(name=name, filename=filename, content_type=headers.get("content-type"), data=data)
