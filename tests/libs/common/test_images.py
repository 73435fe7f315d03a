"""The one image rule: the bytes decide the type, Pillow must read them, pixels are bounded, serving is safe."""

from __future__ import annotations

import struct
import zlib

import pytest

from libs.common.images import (
    REFUSED,
    UNDECODABLE,
    ImageRefused,
    checked_type,
    digest,
    extension,
    served_type,
    sniff,
)
from tests.utils.image_samples import jpeg, png, webp

HTML = b"<html><script>alert(document.cookie)</script></html>"


def _png(width: int, height: int) -> bytes:
    """A well-formed PNG that declares this size; its pixel data is one zlib stream of zeros, tiny."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


class TestCheckedType:
    @pytest.mark.parametrize(
        ("data", "expected"), [(jpeg(), "image/jpeg"), (png(), "image/png"), (webp(), "image/webp")]
    )
    def test_jpeg_png_and_webp_are_typed_by_their_bytes(self, data: bytes, expected: str) -> None:
        assert sniff(data) == expected and checked_type(data) == expected

    @pytest.mark.parametrize("data", [HTML, b"GIF89a" + HTML, b"%PDF-1.4", b"", b"RIFF\0\0\0\0WAVE"])
    def test_anything_else_is_refused(self, data: bytes) -> None:
        with pytest.raises(ImageRefused) as refused:
            checked_type(data)
        assert refused.value.flag == REFUSED

    @pytest.mark.parametrize(
        "data",
        [b"\xff\xd8\xff" + HTML, b"\x89PNG\r\n\x1a\n" + HTML, b"RIFF\x10\0\0\0WEBP" + HTML, png()[:-20], jpeg()[:40]],
    )
    def test_bytes_that_only_start_like_an_image_are_undecodable(self, data: bytes) -> None:
        with pytest.raises(ImageRefused) as refused:
            checked_type(data)
        assert refused.value.flag == UNDECODABLE

    def test_a_decompression_bomb_is_refused_before_any_pixel_is_decoded(self) -> None:
        for width, height in ((60_000, 60_000), (8_000, 7_000)):  # over Pillow's bound; over ours only
            with pytest.raises(ImageRefused) as refused:
                checked_type(_png(width, height))
            assert refused.value.flag == REFUSED
        assert checked_type(_png(7_680, 4_320)) == "image/png"  # an 8K frame is an image

    def test_a_jpeg_cut_short_in_its_scan_still_counts(self) -> None:
        # cameras send them (FORMATS.md §14.6): the headers are whole, the pixels end early
        assert checked_type(jpeg(640, 480)[:-200]) == "image/jpeg"


class TestServing:
    @pytest.mark.parametrize("stored", ["image/jpeg", "image/png", "image/webp"])
    def test_a_sniffed_type_is_served_as_itself(self, stored: str) -> None:
        assert served_type(stored) == stored and extension(stored) in {"jpg", "png", "webp"}

    @pytest.mark.parametrize("stored", ["text/html", "image/svg+xml", "image/jpeg\r\nX-Evil: 1", "", "IMAGE/JPEG"])
    def test_any_other_stored_type_is_served_as_bytes(self, stored: str) -> None:
        assert served_type(stored) == "application/octet-stream" and extension(served_type(stored)) == "bin"

    def test_the_digest_names_the_bytes(self) -> None:
        assert digest(b"abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
