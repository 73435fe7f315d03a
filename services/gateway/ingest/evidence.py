"""raw_body: the vendor's document as sent, except that each image it kept is replaced by its digest.

An image travels once on READS, in `images`; raw_body names it instead, so the stored evidence still ties
the document to the image (sha256 of the bytes records stores and serves). Deterministic, per kind of body:
- JSON: the whole string value that held the image (a `data:` URL included) becomes `"sha256:<hex>"`;
- XML: the text of the element that held it becomes `sha256:<hex>`;
- multipart and other binary bodies (kept base64): each image part's bytes become the ASCII `sha256:<hex>`.
Everything else stays byte for byte. An image that was not kept (refused, undecodable) stays where it was.

A vendor post of several results (OpenALPR `alpr_results`, Plate Recognizer) gives each read its own result
beside the post's small shared fields (`with_shared`), as a native batch gives each read its own object: the
whole post as every read's raw_body stored it once per result, 100 MB for a 0.5 MB post of 200 results.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from libs.common.contracts.reads import ReadImage

from .body import VendorBody

_PREFIX = 48  # base64 characters looked for first: within the first line even when a sender wraps lines
_ESCAPES = "\\&\n\r\t "  # what makes a value's text differ from the base64 it holds


@dataclass(frozen=True)
class _Syntax:
    """Where a value that holds an image begins and ends in a text, and how it is read and written."""

    value: re.Pattern[str]  # every value, for the slow path; group 1 is the value's span
    opener: str
    closer: str
    inner: bool  # the span excludes opener and closer (XML text) or includes them (a JSON string)
    decode: Callable[[str], object]
    encode: Callable[[str], str]


_JSON = _Syntax(re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")', re.DOTALL), '"', '"', False, json.loads, json.dumps)
_XML = _Syntax(re.compile(r">([^<]*)<"), ">", "<", True, html.unescape, str)


# What of a post's shared fields goes beside each of its results: a field (name and JSON value) of at most
# SHARED_FIELD_MAX characters, all of them together at most SHARED_MAX; larger ones (an agent's notes, a
# frame's list of regions) would be stored once per result again.
SHARED_FIELD_MAX = 256
SHARED_MAX = 2048
_COMPACT = json.JSONEncoder(separators=(",", ":"))  # ASCII: a DEL or a lone surrogate comes out escaped


def with_shared(fields: dict[str, Any]) -> dict[str, Any]:
    """The shared fields of a post of several results that each result's raw_body keeps (SHARED_FIELD_MAX)."""
    kept: dict[str, Any] = {}
    total = 0
    for name, value in fields.items():
        if isinstance(value, str) and len(value) > SHARED_FIELD_MAX:
            continue  # not encoded only to be measured
        size = len(name) + len(_COMPACT.encode(value))
        if size <= SHARED_FIELD_MAX and total + size <= SHARED_MAX:
            kept[name] = value
            total += size
    return kept


def compact(document: Any) -> str:
    """One result's raw_body: its envelope as compact ASCII JSON."""
    return _COMPACT.encode(document)


def raw_body(body: VendorBody, images: Iterable[ReadImage]) -> str:
    """body.text with each kept image replaced by its digest."""
    kept = _by_data(images)
    text = body.text
    if not kept:
        return text
    # text is base64 of the body (multipart, binary) exactly when it is longer than the body
    if len(text) > len(body.raw):
        raw = body.raw
        for b64, name in kept.items():
            raw = raw.replace(base64.b64decode(b64), name.encode("ascii"))
        return base64.b64encode(raw).decode("ascii")
    if body.media in ("json", "xml"):
        return _without(text, kept, _JSON if body.media == "json" else _XML)
    return text  # a url-encoded form: no format sends images that way; what came stays as it came


def json_without_images(text: str, images: Iterable[ReadImage]) -> str:
    """A JSON text with every string value that holds a kept image replaced by the image's digest."""
    kept = _by_data(images)
    return _without(text, kept, _JSON) if kept else text


def _without(text: str, kept: dict[str, str], syntax: _Syntax) -> str:
    for b64, name in kept.items():
        spans = list(_found(text, b64, syntax)) or list(_scanned(text, b64, syntax))
        for start, end in reversed(spans):
            text = text[:start] + syntax.encode(name) + text[end:]
    return text


def _found(text: str, b64: str, syntax: _Syntax) -> Iterator[tuple[int, int]]:
    """Fast path: the image's first characters, then the value around them."""
    prefix = b64.rstrip("=")[:_PREFIX]
    at = text.find(prefix)
    while at >= 0:
        start, end = text.rfind(syntax.opener, 0, at), text.find(syntax.closer, at)
        span = (start + 1, end) if syntax.inner else (start, end + 1)
        if (
            start >= 0
            and end >= 0
            and (
                _verbatim(text, start + 1, at, end, b64)
                # JPEGs share their first bytes: another image's value is only decoded when it could be escaped
                or (_escaped(text, start + 1, end) and _holds(text[span[0] : span[1]], b64, syntax))
            )
        ):
            yield span
            at = text.find(prefix, span[1])
        else:
            at = text.find(prefix, at + 1)


def _scanned(text: str, b64: str, syntax: _Syntax) -> Iterator[tuple[int, int]]:
    """Slow path, for an image escaped (`\\/`) or wrapped before its first line ends: every long value."""
    for match in syntax.value.finditer(text):
        start, end = match.span(1)
        if end - start >= len(b64) // 2 and _holds(text[start:end], b64, syntax):
            yield start, end


def _verbatim(text: str, start: int, at: int, end: int, b64: str) -> bool:
    """The value is the image's base64 unescaped, after at most a `data:` header, as nearly every sender
    writes it: compared in place, so a large image is not copied or decoded again."""
    head = text[start:at].lstrip(" \t\r\n")  # whitespace is dropped from base64 as it is read
    if head and not (head.startswith("data:") and head.endswith(",") and head.count(",") == 1 and "\\" not in head):
        return False
    unpadded = b64.rstrip("=")
    return end - at in (len(b64), len(unpadded)) and text.startswith(b64 if end - at == len(b64) else unpadded, at)


def _escaped(text: str, start: int, end: int) -> bool:
    """Whether the value holds an escape, an entity or whitespace (one find per character: far faster than re)."""
    return any(text.find(c, start, end) >= 0 for c in _ESCAPES)


def _holds(value: str, b64: str, syntax: _Syntax) -> bool:
    try:
        return _normalized(syntax.decode(value)) == b64
    except ValueError:
        return False


def _normalized(value: object) -> str | None:
    """The base64 text images.image_from_base64 keeps from a sent value."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    text = "".join(text.split())
    return text + "=" * (-len(text) % 4)


def _by_data(images: Iterable[ReadImage]) -> dict[str, str]:
    return {i.data_b64: i.digest for i in images if i.digest}
