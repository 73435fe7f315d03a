"""Every shared vendor sample, parsed with its format named and by detection."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from libs.common.contracts.reads import Box, Point

SAMPLES = {
    "genetec_sharpv_http_read.json": "genetec",
    "genetec_sharpv_http_read.xml": "genetec",
    "hikvision_anpr_EventNotificationAlert.xml": "hikvision",
    "openalpr_agent_alpr_group_v1_2015.json": "openalpr",
    "openalpr_agent_alpr_group_v2.json": "openalpr",
    "openalpr_agent_alpr_results_v2.json": "openalpr",
    "openalpr_agent_heartbeat_v2.json": "openalpr",
    "openalpr_cli_alpr_j_v2.json": "openalpr",
    "platerecognizer_snapshot_webhook_image_done.json": "platerecognizer",
    "platerecognizer_stream_webhook_recognition.json": "platerecognizer",
}


def _content_type(name: str) -> str:
    return "application/xml" if name.endswith(".xml") else "application/json"


def _load(folder: Path, name: str) -> bytes:
    path = folder / name
    if not path.exists():
        pytest.skip(f"sample {name} not present")
    return path.read_bytes()


@pytest.mark.parametrize("name", sorted(SAMPLES))
class TestEverySample:
    def test_named_and_detected_agree(self, name, vendor_samples, parse):
        body = _load(vendor_samples, name)
        named = parse(body, _content_type(name), SAMPLES[name])
        detected = parse(body, _content_type(name))
        assert detected.format == named.format == SAMPLES[name]
        assert [r.model_dump() for r in detected.reads] == [r.model_dump() for r in named.reads]

    def test_detected_without_content_type(self, name, vendor_samples, parse):
        body = _load(vendor_samples, name)
        assert parse(body, "").format == SAMPLES[name]

    def test_resend_gives_same_ids(self, name, vendor_samples, parse):
        body = _load(vendor_samples, name)
        first, again = parse(body, _content_type(name)), parse(body, _content_type(name))
        assert [r.read_id for r in first.reads] == [r.read_id for r in again.reads]
        assert len({r.read_id for r in first.reads}) == len(first.reads)

    def test_reads_keep_raw_body_and_vendor(self, name, vendor_samples, parse):
        body = _load(vendor_samples, name)
        payload = parse(body, _content_type(name))
        for read in payload.reads:
            if len(payload.reads) > 1:  # a post of several results: each read keeps its own (ingest/evidence.py)
                assert read.raw_body is not None and '"results":[{' in read.raw_body
            else:
                assert read.raw_body == body.decode("utf-8")
            assert read.vendor == SAMPLES[name]
            assert read.vendor_format.startswith(SAMPLES[name])
            assert read.agency == "ca-sfpd" and read.camera_id == "cam-7"
            assert read.captured_at.tzinfo is not None


class TestOpenAlprSamples:
    def test_group_v1(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "openalpr_agent_alpr_group_v1_2015.json"))
        (read,) = payload.reads
        assert payload.kind == "reads" and payload.camera_hint == "1414799424"
        assert read.plate == "A13709" and read.state == "MO"
        assert read.captured_at == datetime(2015, 11, 24, 0, 50, 8, 789000, tzinfo=UTC)
        assert read.confidence == pytest.approx(0.92075203) and read.confidence_raw == "92.075203"
        assert [c.plate for c in read.candidates][:3] == ["A13709", "A137O9", "A137Q9"]
        assert read.candidates[1].confidence == pytest.approx(0.8332373)
        assert read.plate_polygon == [
            Point(x=204, y=134),
            Point(x=709, y=222),
            Point(x=658, y=500),
            Point(x=167, y=383),
        ]
        assert read.plate_box == Box(x=167, y=134, width=542, height=366)
        assert payload.replaces_preview == []

    def test_group_v2(self, vendor_samples, parse):
        (read,) = parse(_load(vendor_samples, "openalpr_agent_alpr_group_v2.json")).reads
        assert read.plate == "D2651BF" and read.state == "MO"
        assert read.captured_at == datetime(2019, 7, 9, 14, 5, 21, 504000, tzinfo=UTC)
        assert read.latitude == pytest.approx(37.635986328125) and read.longitude == pytest.approx(-79.2059326171875)
        assert [(c.plate, round(c.confidence, 4)) for c in read.candidates] == [
            ("D2651BF", 0.9388),
            ("D2651F", 0.7481),
            ("D265BF", 0.7353),
        ]
        assert read.vehicle["make"] == "ford" and read.vehicle["color"] == "black"
        assert read.vehicle["body_type"] == "sedan-standard"
        # The doc sample holds placeholder text instead of JPEG data: kept read, flagged, no image.
        assert "image_undecodable" in read.flags and read.images == []

    def test_results_two_plates(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "openalpr_agent_alpr_results_v2.json"))
        assert [r.plate for r in payload.reads] == ["D2651BF", "CG3L5Y"]
        second = payload.reads[1]
        assert second.captured_at == datetime(2019, 7, 9, 14, 13, 28, 425000, tzinfo=UTC)
        assert second.confidence == pytest.approx(0.947376327)
        assert second.plate_polygon is not None and second.plate_polygon[0] == Point(x=1419, y=882)
        assert payload.camera_hint == "1234"

    def test_heartbeat_has_no_reads(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "openalpr_agent_heartbeat_v2.json"))
        assert payload.kind == "heartbeat" and payload.reads == []

    def test_cli_output(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "openalpr_cli_alpr_j_v2.json"))
        (read,) = payload.reads
        assert read.plate == "627WWI" and read.state == "WA"
        assert read.captured_at == datetime(2016, 10, 17, 15, 7, 33, 320000, tzinfo=UTC)
        assert len(read.candidates) == 6 and payload.camera_hint is None


class TestPlateRecognizerSamples:
    def test_snapshot_webhook(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "platerecognizer_snapshot_webhook_image_done.json"))
        assert [r.plate for r in payload.reads] == ["765410", "830265"]
        first = payload.reads[0]
        assert first.captured_at == datetime(2019, 8, 31, 14, 22, 6, 983000, tzinfo=UTC)
        assert first.confidence == pytest.approx(0.9131534678711563)
        assert first.plate_box == Box(x=563, y=530, width=139, height=49)
        assert first.plate_polygon == [
            Point(x=563, y=530),
            Point(x=702, y=530),
            Point(x=702, y=579),
            Point(x=563, y=579),
        ]
        assert first.vendor_format == "platerecognizer.snapshot_webhook"
        assert payload.camera_hint is None  # camera_id null in the sample

    def test_stream_webhook(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "platerecognizer_stream_webhook_recognition.json"))
        (read,) = payload.reads
        assert read.plate == "9JUB11" and read.plate_raw == "9jub11"
        assert read.state is None  # region "gb" is a country, not a state
        assert read.captured_at == datetime(2021, 9, 29, 5, 56, 13, 606935, tzinfo=UTC)
        assert [c.plate for c in read.candidates] == ["9JUB11", "SJU88Y", "SJUBI"]
        assert read.candidates[0].confidence == pytest.approx(0.839)
        assert read.vehicle == {"type": "Big Truck"}
        assert payload.camera_hint == "camera-1" and read.vendor_format == "platerecognizer.stream_webhook"


class TestGenetecSamples:
    def test_json(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "genetec_sharpv_http_read.json"))
        (read,) = payload.reads
        assert read.plate == "AA7D2" and payload.camera_hint == "SHARPV12345"
        # No zone in the JSON sample: taken as UTC and flagged.
        assert read.captured_at == datetime(2016, 8, 29, 8, 42, 45, 797000, tzinfo=UTC)
        assert "captured_at_zone_assumed" in read.flags
        assert read.latitude is None and read.longitude is None  # 0.0/0.0 means no GPS
        assert read.confidence is None and read.state is None

    def test_xml(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "genetec_sharpv_http_read.xml"), "text/xml")
        (read,) = payload.reads
        assert read.plate == "AA7D2" and read.vendor_format == "genetec.sharpv_xml"
        assert read.captured_at == datetime(2016, 10, 21, 21, 35, 4, 862762, tzinfo=UTC)
        assert read.confidence == 1.0 and read.confidence_raw == "100"
        assert read.flags == []

    def test_same_genetec_id_same_read(self, vendor_samples, parse):
        as_json = parse(_load(vendor_samples, "genetec_sharpv_http_read.json")).reads[0]
        as_xml = parse(_load(vendor_samples, "genetec_sharpv_http_read.xml")).reads[0]
        assert as_json.read_id == as_xml.read_id


class TestHikvisionSample:
    def test_bare_xml(self, vendor_samples, parse):
        payload = parse(_load(vendor_samples, "hikvision_anpr_EventNotificationAlert.xml"), "application/xml")
        (read,) = payload.reads
        assert read.plate == "PECT600" and payload.camera_hint == "d4:e8:53:bc:4c:02"
        # absTime 11:17:19.654 in the camera's +08:00 zone.
        assert read.captured_at == datetime(2024, 1, 19, 3, 17, 19, 654000, tzinfo=UTC)
        assert read.confidence == pytest.approx(0.97) and read.confidence_raw == "97"
        assert read.plate_box == Box(x=691, y=397, width=59, height=34)
        assert read.latitude == pytest.approx(22 / 60) and read.longitude == pytest.approx(111.0)
        assert read.vehicle == {"type": "vehicle", "color": "white", "make_code": "1036"}
        assert read.vendor_format == "hikvision.anpr_xml"
