"""Our own read format: single reads, batches and their refusals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from libs.common.errors import InvalidInput
from tests.utils.image_samples import jpeg

JPEG_B64 = base64.b64encode(jpeg()).decode()


def read(**overrides: object) -> dict:
    body: dict = {
        "plate": "7abc-123",
        "captured_at": "2026-01-02T10:00:00+01:00",
        "camera_id": "lane-1",
        "latitude": 37.77,
        "longitude": -122.42,
        "confidence": 0.93,
        "state": "us-ca",
        "images": [{"kind": "plate", "data_b64": JPEG_B64}],
    }
    body.update(overrides)
    return body


def encode(doc: object) -> bytes:
    return json.dumps(doc).encode()


class TestSingleRead:
    def test_fields(self, parse):
        payload = parse(encode(read()), fmt="native")
        (stored,) = payload.reads
        assert payload.format == "native" and payload.camera_hint == "lane-1"
        assert stored.plate == "7ABC123" and stored.plate_raw == "7abc-123" and stored.state == "CA"
        assert stored.captured_at == datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
        assert stored.confidence == pytest.approx(0.93) and stored.confidence_raw == "0.93"
        assert stored.latitude == pytest.approx(37.77) and stored.images[0].data_b64 == JPEG_B64

    def test_detected(self, parse):
        assert parse(encode(read())).format == "native"

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ('"note":"a\x7fb"', "note"),  # JSON allows a raw DEL: no backslash, yet it may not be stored
            ('"note":"a\\u0007b"', "note"),  # an escaped control
            ('"note\\u0001":1', "note\x01"),  # in a key
            ('"extra":{"deep":["ok","\\ud800"]}', "extra.deep[1]"),  # a lone surrogate, nested
        ],
    )
    def test_a_single_read_with_an_unstorable_text_anywhere_is_refused_naming_it(self, parse, text, field):
        # the single read's text check is skipped only for a body whose text, with no backslash, is printable
        body = encode(read(images=[])).replace(b'"plate":', f'{text},"plate":'.encode(), 1)
        with pytest.raises(InvalidInput) as err:
            parse(body)
        assert err.value.code == "invalid_text" and err.value.details["field"] == field

    def test_epoch_ms_time(self, parse):
        (stored,) = parse(encode(read(captured_at=1767348000000))).reads
        assert stored.captured_at == datetime(2026, 1, 2, 10, 0, tzinfo=UTC)

    def test_client_read_id_is_stable_and_scoped(self, parse):
        first = parse(encode(read(read_id="r-1"))).reads[0].read_id
        assert first == parse(encode(read(read_id="r-1", confidence=0.5))).reads[0].read_id
        assert first != parse(encode(read(read_id="r-1")), camera_id="cam-8").reads[0].read_id
        assert first != parse(encode(read(read_id="r-1")), agency="other").reads[0].read_id

    @pytest.mark.parametrize("plate", ["ABCDEFGHIJKLMNOP", "- -", "AB#12"])
    def test_bad_plate_raises(self, parse, plate):
        with pytest.raises(InvalidInput) as err:
            parse(encode(read(plate=plate)))
        assert err.value.code == "invalid_plate" and err.value.status == 422

    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"plate": 123}, "plate"),
            ({"captured_at": None}, "captured_at"),
            ({"captured_at": "yesterday"}, "captured_at"),
            ({"latitude": 123.0}, "latitude"),
            ({"longitude": -190.0}, "longitude"),
            ({"confidence": 93}, "confidence"),
            ({"confidence": "high"}, "confidence"),
            ({"state": "California"}, "state"),
            ({"images": [{"kind": "thumbnail", "data_b64": JPEG_B64}]}, "images[0].kind"),
            ({"images": "x"}, "images"),
        ],
    )
    def test_invalid_fields(self, parse, override, field):
        with pytest.raises(InvalidInput) as err:
            parse(encode(read(**override)))
        assert err.value.code == "invalid_field" and err.value.details["field"] == field

    def test_undecodable_image_keeps_read(self, parse):
        (stored,) = parse(encode(read(images=[{"kind": "overview", "data_b64": "not base64!!"}]))).reads
        assert stored.images == [] and "image_undecodable" in stored.flags

    def test_data_uri_prefix_dropped_and_its_type_ignored(self, parse):
        sent = [{"kind": "vehicle", "data_b64": "data:image/png;base64," + JPEG_B64}]
        (image,) = parse(encode(read(images=sent))).reads[0].images
        assert image.data_b64 == JPEG_B64 and image.content_type == "image/jpeg"  # the bytes decide


class TestBatch:
    def test_batch_with_a_refused_plate(self, parse):
        payload = parse(encode({"reads": [read(), read(plate="!!!", camera_id="lane-1"), read(plate="XYZ9")]}))
        assert [r.plate for r in payload.reads] == ["7ABC123", "XYZ9"]
        assert payload.rejected == [
            {
                "index": 1,
                "code": "invalid_plate",
                "field": "reads[1].plate",
                "message": "plate cannot be stored",
                "plate_raw": "!!!",
                "reason": "plate_unreadable",
            }
        ]
        assert payload.camera_hint == "lane-1"
        assert json.loads(payload.reads[1].raw_body or "")["plate"] == "XYZ9"

    def test_batch_ids_stable(self, parse):
        body = encode({"reads": [read(), read(plate="XYZ9")]})
        assert [r.read_id for r in parse(body).reads] == [r.read_id for r in parse(body).reads]

    def test_batch_limit(self, parse):
        parse(encode({"reads": [read()] * 1000}))
        with pytest.raises(InvalidInput) as err:
            parse(encode({"reads": [read()] * 1001}))
        assert err.value.code == "batch_too_large"

    def test_bad_item_is_rejected_by_its_index_and_the_rest_kept(self, parse):
        payload = parse(encode({"reads": [read(), read(latitude="north")]}))
        assert [r.plate for r in payload.reads] == ["7ABC123"]
        assert payload.rejected == [
            {
                "index": 1,
                "code": "invalid_field",
                "field": "reads[1].latitude",
                "message": "reads[1].latitude must be number",
            }
        ]

    def test_text_refused_in_one_read_of_a_body_without_escapes(self, parse):
        # JSON allows a raw DEL: no backslash in the body, yet a string of it may not be stored
        body = encode({"reads": [read(), read(note="a\x7fb")]}).replace(b"\\u007f", b"\x7f")
        assert b"\\" not in body
        payload = parse(body)
        assert [r.plate for r in payload.reads] == ["7ABC123"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [(1, "invalid_text", "reads[1].note")]

    def test_capture_window_refuses_one_read_of_a_batch(self, parse):
        old = read(captured_at="2025-01-02T10:00:00+00:00")
        ahead = read(captured_at="2026-01-02T12:00:00+00:00")
        inside = read(captured_at="2026-01-02T03:04:00+00:00")
        payload = parse(encode({"reads": [inside, old, ahead]}), active_retention_days=30, clock_skew_s=60)
        assert [r.plate for r in payload.reads] == ["7ABC123"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (1, "captured_before_retention", "reads[1].captured_at"),
            (2, "captured_in_future", "reads[2].captured_at"),
        ]

    def test_empty_batch(self, parse):
        assert parse(encode({"reads": []})).kind == "empty"

    def test_reads_not_a_list(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(encode({"reads": {}}))
        assert err.value.details["field"] == "reads"
