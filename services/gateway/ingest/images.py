"""Images that came with a read: kept only when they are images (FORMATS.md §14.6, libs.common.images).

What the sender says the type is (a `data:` URL's type, a multipart part's Content-Type) is ignored:
the bytes decide. An image that is not one is never a reason to refuse a read that has a plate; the read
is kept without it and flagged. One larger than IMAGE_MAX_BYTES refuses the post (413).
"""

from __future__ import annotations

import base64
import binascii

from libs.common.contracts.reads import ImageKind, ReadImage
from libs.common.errors import InvalidInput, PayloadTooLarge
from libs.common.images import IMAGE_MAX_BYTES, REFUSED, UNDECODABLE, ImageRefused, checked_type, digest

PADDED = "image_padded"
# a read's pictures: a plate crop, a vehicle crop and a scene, a few of each at most; a read listing more
# is refused before any is decoded (FORMATS.md §14.6)
READ_IMAGES_MAX = 8
IMAGE_FLAGS = frozenset({UNDECODABLE, REFUSED})  # an image was sent and not kept


def image_from_base64(sent: object, kind: ImageKind, flags: list[str]) -> ReadImage | None:
    """A ReadImage from vendor base64 (a `data:` prefix is dropped); problems become flags, not errors."""
    if not isinstance(sent, str) or not sent.strip():
        return None
    text = sent.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    text = "".join(text.split())
    # 4 base64 characters per 3 bytes: refused before decoding what would be too large anyway
    if len(text) > (IMAGE_MAX_BYTES + 2) // 3 * 4:
        raise _too_large()
    # The real 2.8.101 agent sample cuts a JPEG short; padding keeps what did arrive.
    padded = bool(len(text) % 4)
    text += "=" * (-len(text) % 4)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        _flag(flags, UNDECODABLE)
        return None
    image = _checked(data, kind, flags, text)
    if image and padded:
        _flag(flags, PADDED)
    return image


def image_from_bytes(data: bytes, kind: ImageKind, flags: list[str]) -> ReadImage | None:
    """A ReadImage from a multipart file part; empty parts (Hikvision `Content-Length: 0`) carry no image."""
    if not data:
        return None
    if len(data) > IMAGE_MAX_BYTES:
        raise _too_large()
    return _checked(data, kind, flags, None)


def _checked(data: bytes, kind: ImageKind, flags: list[str], text: str | None) -> ReadImage | None:
    if not data:
        _flag(flags, UNDECODABLE)
        return None
    if len(data) > IMAGE_MAX_BYTES:
        raise _too_large()
    try:
        content_type = checked_type(data)
    except ImageRefused as refusal:
        _flag(flags, refusal.flag)
        return None
    b64 = text if text is not None else base64.b64encode(data).decode("ascii")
    return ReadImage(kind=kind, content_type=content_type, data_b64=b64, digest=digest(data))


def too_many_images(field: str, got: int) -> InvalidInput:
    """The refusal of a read that lists more than READ_IMAGES_MAX images."""
    return InvalidInput(
        f"a read may carry at most {READ_IMAGES_MAX} images",
        code="too_many_images",
        field=field,
        limit=READ_IMAGES_MAX,
        got=got,
    )


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"an image may have at most {IMAGE_MAX_BYTES} bytes", code="image_too_large", limit=IMAGE_MAX_BYTES
    )


def _flag(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)
