"""Real JPEG, PNG and WebP bytes for tests, made by Pillow; big ones cheaply, as stored PNG of random bytes."""

from __future__ import annotations

import io
import os
import struct
import zlib
from functools import cache

from PIL import Image


@cache
def jpeg(width: int = 48, height: int = 24) -> bytes:
    return _save("JPEG", width, height)


@cache
def png(width: int = 48, height: int = 24) -> bytes:
    return _save("PNG", width, height)


@cache
def webp(width: int = 48, height: int = 24) -> bytes:
    return _save("WEBP", width, height)


def big_png(size: int) -> bytes:
    """A valid PNG of about `size` bytes (a little under): random grey rows, zlib level 0, so no encoder work."""
    width = 4096
    height = max(1, (size - 1024) // (width + 1) - 8)
    rows = b"".join(b"\x00" + os.urandom(width) for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows, 0)) + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _save(fmt: str, width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, fmt)
    return out.getvalue()
