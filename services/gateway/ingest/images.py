"""Images that came with a read: base64 checked, never a reason to refuse the read (FORMATS.md §14.6)."""

from __future__ import annotations

import base64
import binascii

from libs.common.contracts.reads import ImageKind, ReadImage

UNDECODABLE = "image_undecodable"
PADDED = "image_padded"


def image_from_base64(sent: object, kind: ImageKind, flags: list[str]) -> ReadImage | None:
    """A ReadImage from vendor base64 (a `data:` prefix is dropped); problems become flags, not errors."""
    if not isinstance(sent, str) or not sent.strip():
        return None
    content_type = "image/jpeg"
    text = sent.strip()
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        content_type = header[5:].split(";", 1)[0] or content_type
    text = "".join(text.split())
    # The real 2.8.101 agent sample cuts a JPEG short; padding keeps what did arrive.
    padded = bool(len(text) % 4)
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        _flag(flags, UNDECODABLE)
        return None
    if not data:
        _flag(flags, UNDECODABLE)
        return None
    if padded:
        _flag(flags, PADDED)
    return ReadImage(kind=kind, content_type=content_type, data_b64=text)


def image_from_bytes(data: bytes, kind: ImageKind, content_type: str | None) -> ReadImage | None:
    """A ReadImage from a multipart file part; empty parts (Hikvision `Content-Length: 0`) carry no image."""
    if not data:
        return None
    mime = (content_type or "image/jpeg").split(";", 1)[0].strip().lower()
    if mime in ("image/pjpeg", "application/octet-stream", ""):
        mime = "image/jpeg"
    return ReadImage(kind=kind, content_type=mime, data_b64=base64.b64encode(data).decode("ascii"))


def _flag(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)
