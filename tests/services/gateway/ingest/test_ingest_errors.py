"""Refusals that apply to any format, and Verkada, which has no shared sample."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from libs.common.errors import InvalidInput, MalformedPayload

VERKADA = {
    "webhook_type": "lpr",
    "webhook_id": "e3b0c442-98fc-1c14-9afb-4c8996fb9242",
    "org_id": "0f3b6f1e-6a4b-4e7e-9d1a-7f2b0c9e8d11",
    "created_at": 1700000005,
    "data": {
        "camera_id": "8b7f4c2a-1d3e-4f5a-9b6c-0d1e2f3a4b5c",
        "created": 1700000004,
        "detected": 1700000003250,
        "license_plate_number": "8XYZ123",
        "confidence": 0.87,
        "crop": [0.306, 0.332, 0.529, 0.558],
        "image_url": "https://example.invalid/img.jpg",
        "license_plate_state": "us-ca",
    },
}


class TestVerkada:
    def test_webhook(self, parse):
        payload = parse(json.dumps(VERKADA).encode())
        assert payload.format == "verkada" and payload.camera_hint == VERKADA["data"]["camera_id"]
        (read,) = payload.reads
        assert read.plate == "8XYZ123" and read.state == "CA"
        assert read.captured_at == datetime(2023, 11, 14, 22, 13, 23, 250000, tzinfo=UTC)
        assert read.confidence == pytest.approx(0.87) and read.plate_box is None

    def test_older_webhook_uses_created_seconds(self, parse):
        data = {k: v for k, v in VERKADA["data"].items() if k not in ("detected", "license_plate_state")}
        (read,) = parse(json.dumps(VERKADA | {"data": data}).encode()).reads
        assert read.captured_at == datetime(2023, 11, 14, 22, 13, 24, tzinfo=UTC) and read.state is None

    def test_missing_plate(self, parse):
        data = {k: v for k, v in VERKADA["data"].items() if k != "license_plate_number"}
        with pytest.raises(InvalidInput) as err:
            parse(json.dumps(VERKADA | {"data": data}).encode())
        assert err.value.details["field"] == "data.license_plate_number"


class TestMalformed:
    @pytest.mark.parametrize("fmt", [None, "openalpr", "platerecognizer", "genetec", "verkada", "native", "axis"])
    def test_bad_json(self, parse, fmt):
        with pytest.raises(MalformedPayload) as err:
            parse(b'{"data_type": "alpr_group",', "application/json", fmt)
        assert err.value.code == "malformed_json" and err.value.status == 400

    @pytest.mark.parametrize("fmt", [None, "hikvision", "genetec"])
    def test_bad_xml(self, parse, fmt):
        with pytest.raises(MalformedPayload) as err:
            parse(b"<EventNotificationAlert><ANPR></EventNotificationAlert>", "application/xml", fmt)
        assert err.value.code == "malformed_xml"

    def test_xml_entities_refused(self, parse):
        body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><Plate><PlateRead>&a;</PlateRead></Plate>'
        with pytest.raises(MalformedPayload) as err:
            parse(body, "application/xml")
        assert err.value.code == "malformed_xml"

    def test_invalid_utf8(self, parse):
        with pytest.raises(MalformedPayload):
            parse(b'{"plate": "\xff"}', "application/json", "native")


class TestUnknownFormat:
    def test_unknown_name(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(b"{}", "application/json", "acme")
        assert err.value.code == "unknown_format"

    @pytest.mark.parametrize("body", [b'{"hello": 1}', b"[1, 2]", b"<Other/>", b"plain text", b""])
    def test_undetectable(self, parse, body):
        with pytest.raises(InvalidInput) as err:
            parse(body, "")
        assert err.value.code == "unknown_format"

    def test_dahua_is_named_but_unsupported(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(b'{"Picture": {"Plate": {"PlateNumber": "A1"}}}')
        assert err.value.code == "unknown_format" and err.value.details["detected"] == "dahua"

    def test_alias(self, parse):
        assert parse(b'{"openalpr_webhook": "test"}', fmt="rekor").format == "openalpr"

    def test_wrong_format_named(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(json.dumps(VERKADA).encode(), fmt="genetec")
        assert err.value.code == "invalid_field" and err.value.details["field"] == "PlateRead"

    def test_json_array_for_object_format(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(b"[]", fmt="openalpr")
        assert err.value.code == "invalid_field"
