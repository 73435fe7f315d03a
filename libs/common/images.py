"""Images that come with a read: JPEG, PNG or WebP by their magic bytes, proven by Pillow, kept unchanged.

The gateway checks every image at the door and records checks it again before storing, with this one rule:
the type is what the bytes are, never what the sender says; the bytes are stored as sent (they are
evidence) under that sniffed type; and an image is served only under a type this module names.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Final

from PIL import Image

# One image's decoded bytes (not its base64, not the post it came in): 8 MiB exactly is accepted.
IMAGE_MAX_BYTES: Final = 8 * 1024 * 1024
# Well above a camera's largest frame (8K is 33 MP) and below Pillow's own bomb warning (89 MP): a small
# file that declares more pixels than this is a decompression bomb aimed at whoever decodes it next.
IMAGE_MAX_PIXELS: Final = 50_000_000

# sniffed type → (Pillow format, file extension)
_FORMATS: Final = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png"), "image/webp": ("WEBP", "webp")}
SERVED_TYPES: Final = tuple(_FORMATS)
PILLOW_FORMATS: Final = tuple(pillow for pillow, _ in _FORMATS.values())  # what a decoder of them may open
SERVED_OTHERWISE: Final = "application/octet-stream"

# flags a read carries when an image it came with was not kept
REFUSED: Final = "image_refused"  # not JPEG, PNG or WebP by its bytes, or too many pixels
UNDECODABLE: Final = "image_undecodable"  # not base64, or Pillow cannot read what the magic bytes promise


class ImageRefused(ValueError):
    """The bytes are not an image this system keeps; `flag` is what the read is marked with."""

    def __init__(self, flag: str, reason: str) -> None:
        super().__init__(reason)
        self.flag = flag
        self.reason = reason


def sniff(data: bytes) -> str | None:
    """The image type the leading bytes declare, or None for anything but JPEG, PNG and WebP."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def checked_type(data: bytes) -> str:
    """The sniffed type of bytes Pillow reads as that type within the pixel bound; else ImageRefused.

    Pillow parses the headers (and, for PNG, checks every chunk's CRC) without decoding pixels: cheap
    enough for every post, and it still refuses a file that only starts like an image. A JPEG whose
    scan data is cut short passes, as cameras send them (FORMATS.md §14.6).
    """
    content_type = sniff(data)
    if content_type is None:
        raise ImageRefused(REFUSED, "not JPEG, PNG or WebP by its leading bytes")
    pillow_format = _FORMATS[content_type][0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
                width, height = image.size
                image.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRefused(REFUSED, "more pixels than an image may have") from None
    except Exception:  # hostile bytes make Pillow's parsers raise all kinds; each means "not readable"
        raise ImageRefused(UNDECODABLE, f"not a readable {pillow_format} image") from None
    if width * height > IMAGE_MAX_PIXELS:
        raise ImageRefused(REFUSED, "more pixels than an image may have")
    return content_type


def digest(data: bytes) -> str:
    """How raw_body names an image it no longer carries: `sha256:` and the hex digest of the stored bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def served_type(stored: str) -> str:
    """The Content-Type to serve a stored image under: its sniffed type, or octet-stream for anything else."""
    return stored if stored in _FORMATS else SERVED_OTHERWISE


def extension(content_type: str) -> str:
    """The file extension of a served type (`bin` for octet-stream)."""
    return _FORMATS[content_type][1] if content_type in _FORMATS else "bin"
