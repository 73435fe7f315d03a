"""A photograph post's rules at the door: the type by the bytes, the size by the header, the form's fields checked,
and a frame id that a resend reproduces."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from libs.common.errors import AlprError, MalformedPayload
from libs.common.images import IMAGE_MAX_BYTES
from services.gateway.ingest.frame_post import FRAME_MAX_SIDE, frame_id, parse_frame_post
from tests.utils.image_samples import jpeg, png, webp

NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
BOUNDARY = "frameboundary42"


def form(*parts: tuple[str, bytes]) -> tuple[bytes, str]:
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"'.encode()
        + (b'; filename="f.jpg"\r\nContent-Type: image/jpeg' if name == "image" else b"")
        + b"\r\n\r\n"
        + data
        + b"\r\n"
        for name, data in parts
    )
    return body + f"--{BOUNDARY}--\r\n".encode(), f"multipart/form-data; boundary={BOUNDARY}"


def parse(body: bytes, content_type: str = "image/jpeg"):  # type: ignore[no-untyped-def]
    return parse_frame_post(body, content_type, received_at=NOW, active_retention_days=333, clock_skew_s=120)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with a few bytes of pixel data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def refusal(body: bytes, content_type: str = "image/jpeg") -> tuple[int, str, object]:
    with pytest.raises(AlprError) as caught:
        parse(body, content_type)
    return caught.value.status, caught.value.code, caught.value.details.get("field")


class TestTheImage:
    @pytest.mark.parametrize(
        ("data", "sniffed"), [(jpeg(), "image/jpeg"), (png(), "image/png"), (webp(), "image/webp")]
    )
    def test_the_type_is_what_the_bytes_are_whatever_the_sender_says(self, data: bytes, sniffed: str) -> None:
        post = parse(data, "application/octet-stream")
        assert (post.content_type, post.width, post.height, post.data) == (sniffed, 48, 24, data)
        assert post.captured_at is None and post.latitude is None

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            (b"", 422, "image_missing"),
            (b"%PDF-1.7 not a photograph", 422, "not_an_image"),
            (b'{"plate": "7ABC123"}', 422, "not_an_image"),
            (jpeg()[:12], 422, "image_undecodable"),  # the magic bytes, then nothing
            (png()[:40], 422, "image_undecodable"),  # a header cut short
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, 422, "image_undecodable"),
            (png_declaring(10_000, 10_000), 413, "image_too_large"),  # 100 MP in a few hundred bytes
            (png_declaring(FRAME_MAX_SIDE + 1, 16), 413, "image_too_large"),  # one side too long
            (b"\xff\xd8\xff" + b"\x00" * IMAGE_MAX_BYTES, 413, "image_too_large"),
        ],
    )
    def test_each_bad_image_has_its_status_and_code(self, body: bytes, status: int, code: str) -> None:
        assert refusal(body)[:2] == (status, code)

    def test_a_frame_at_the_side_limit_is_taken(self) -> None:
        post = parse(png_declaring(FRAME_MAX_SIDE, 16), "image/png")
        assert (post.width, post.height) == (FRAME_MAX_SIDE, 16)


class TestTheForm:
    def test_the_fields_come_with_the_image(self) -> None:
        body, content_type = form(
            ("image", png()),
            ("captured_at", b"2026-12-06T09:58:00-08:00"),
            ("latitude", b"37.3349"),
            ("longitude", b"-121.8881"),
        )
        post = parse(body, content_type)
        assert post.content_type == "image/png" and post.data == png()
        assert post.captured_at == datetime(2026, 12, 6, 17, 58, tzinfo=UTC)
        assert (post.latitude, post.longitude) == (37.3349, -121.8881)

    def test_zero_zero_is_no_position(self) -> None:
        body, content_type = form(("image", jpeg()), ("latitude", b"0"), ("longitude", b"0.0"))
        assert (parse(body, content_type).latitude, parse(body, content_type).longitude) == (None, None)

    @pytest.mark.parametrize(
        ("parts", "code", "field"),
        [
            ([("captured_at", b"2026-12-06T10:00:00Z")], "image_missing", "image"),
            ([("image", b"")], "image_missing", "image"),
            ([("image", b"GIF89a")], "not_an_image", "image"),
            ([("image", jpeg()), ("captured_at", b"yesterday")], "invalid_field", "captured_at"),
            ([("image", jpeg()), ("captured_at", b"2026-12-06T10:00:00")], "invalid_field", "captured_at"),
            (
                [("image", jpeg()), ("captured_at", (NOW + timedelta(hours=1)).isoformat().encode())],
                "captured_in_future",
                "captured_at",
            ),
            (
                [("image", jpeg()), ("captured_at", (NOW - timedelta(days=400)).isoformat().encode())],
                "captured_before_retention",
                "captured_at",
            ),
            ([("image", jpeg()), ("latitude", b"91"), ("longitude", b"0")], "invalid_field", "latitude"),
            ([("image", jpeg()), ("latitude", b"37"), ("longitude", b"-181")], "invalid_field", "longitude"),
            ([("image", jpeg()), ("latitude", b"nan"), ("longitude", b"1")], "invalid_field", "latitude"),
            ([("image", jpeg()), ("latitude", b"37.3")], "invalid_field", "longitude"),
            ([("image", jpeg()), ("image", png())], "invalid_field", "image"),
            (
                [("image", jpeg()), ("captured_at", b"2026-12-06T10:00:00Z"), ("captured_at", b"2026-12-06T10:00:01Z")],
                "invalid_field",
                "captured_at",
            ),
            (
                [("image", jpeg()), ("latitude", "37,3\u00b0".encode()), ("longitude", b"1")],
                "invalid_field",
                "latitude",
            ),
        ],
    )
    def test_each_bad_field_is_named(self, parts: list[tuple[str, bytes]], code: str, field: str) -> None:
        status, got, named = refusal(*form(*parts))
        assert (status, got, named) == (422, code, field)

    def test_a_form_without_its_closing_delimiter_is_malformed(self) -> None:
        body, content_type = form(("image", jpeg()))
        with pytest.raises(MalformedPayload):
            parse(body[: -len(f"--{BOUNDARY}--\r\n")], content_type)


class TestTheFrameId:
    def test_a_resend_is_the_same_frame_and_anything_else_is_another(self) -> None:
        first = frame_id("SJPD", "cam-1", jpeg(), NOW)
        assert frame_id("SJPD", "cam-1", jpeg(), NOW) == first
        others = {
            frame_id("SJPD", "cam-2", jpeg(), NOW),
            frame_id("SCSO", "cam-1", jpeg(), NOW),
            frame_id("SJPD", "cam-1", png(), NOW),
            frame_id("SJPD", "cam-1", jpeg(), NOW + timedelta(seconds=1)),
            frame_id("SJPD", "cam-1", jpeg(), None),
        }
        assert first not in others and len(others) == 5
        assert len(first) == 36  # a UUID: fits FrameIn's 64 characters and records' key
