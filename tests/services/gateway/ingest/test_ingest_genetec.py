"""Genetec SharpV reads beyond the shared samples: analytics, images, refusals."""

from __future__ import annotations

import base64
import json

import pytest

from tests.utils.image_samples import jpeg

JPEG_B64 = base64.b64encode(jpeg()).decode()


def sharpv(**overrides: object) -> bytes:
    doc: dict = {
        "Id": "5b0c7f0e-0000-4000-8000-000000000001",
        "PlateRead": "ABC 123",
        "Timestamp": "2024-05-01T12:00:00.1234567-07:00",
        "SourceUrl": "SHARPV99",
        "Latitude": 34.05,
        "Longitude": -118.25,
        "PlateImage": JPEG_B64,
        "ContextImage": "@@@",
        "PlateAnalytics": [
            {"Key": "State Name", "Score": 0.9, "Value": "CA"},
            {"Key": "Confidence Score", "Score": 1, "Value": "87"},
            {"Key": "Vehicle Type", "Score": 1.0, "Value": "Car"},
        ],
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


class TestSharpV:
    def test_analytics_images_position(self, parse):
        payload = parse(sharpv())
        (read,) = payload.reads
        assert read.plate == "ABC123" and read.plate_raw == "ABC 123" and read.state == "CA"
        assert read.confidence == pytest.approx(0.87) and read.confidence_raw == "87"
        assert read.captured_at.isoformat() == "2024-05-01T19:00:00.123456+00:00"
        assert (read.latitude, read.longitude) == (34.05, -118.25)
        assert read.vehicle == {"type": "Car"}
        # The context image does not decode: the read stays, the plate image is kept, the flag says why.
        assert [i.kind for i in read.images] == ["plate"] and "image_undecodable" in read.flags

    def test_refused_plate_is_listed(self, parse):
        payload = parse(sharpv(PlateRead="???"))
        assert payload.reads == [] and payload.rejected[0]["reason"] == "plate_unreadable"

    def test_namespaced_xml(self, parse):
        xml = (
            b'<Plate xmlns="urn:genetec"><Id>g-1</Id><PlateRead>xy-99</PlateRead>'
            b"<Timestamp>2024-05-01T12:00:00Z</Timestamp><Latitude>0.0</Latitude><Longitude>0.0</Longitude>"
            b"<PlateAnalytics><PlateAnalytics><Key>State Name</Key><Score>1</Score><Value>NV</Value>"
            b"</PlateAnalytics></PlateAnalytics></Plate>"
        )
        (read,) = parse(xml, "text/xml").reads
        assert read.plate == "XY99" and read.state == "NV" and read.latitude is None

    def test_reads_serialize_for_the_bus(self, parse):
        (read,) = parse(sharpv()).reads
        assert json.loads(read.model_dump_json())["read_id"] == read.read_id
