"""Multipart bodies as Plate Recognizer, Hikvision and Axis cameras post them, built here."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from libs.common.contracts.reads import Box
from libs.common.errors import InvalidInput, MalformedPayload
from tests.utils.image_samples import jpeg

# a real JPEG, then bytes a naive multipart split would take for a boundary (readers stop at the end marker)
JPEG = jpeg() + bytes(range(256)) + b"\r\n--not-a-boundary\r\n\xff\xd9"

HIK_XML = """<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>10.0.0.9</ipAddress><channelID>1</channelID>
<dateTime>2024-03-01T08:00:00-05:00</dateTime><activePostCount>2</activePostCount>
<eventType>ANPR</eventType><UUID>evt-42</UUID>
<ANPR><licensePlate>ab 1234</licensePlate><confidenceLevel>88</confidenceLevel>
<pictureInfoList><pictureInfo><fileName>detectionPicture.jpg</fileName><type>detectionPicture</type>
<absTime>20240301080000125</absTime><plateRect><X>10</X><Y>20</Y><width>30</width><height>40</height></plateRect>
</pictureInfo></pictureInfoList></ANPR>
<detectionBackgroundImageResolution><height>1080</height><width>1920</width></detectionBackgroundImageResolution>
</EventNotificationAlert>"""

PR_STREAM = {
    "hook": {"target": "http://x/", "id": "gate-2", "event": "recognition"},
    "data": {
        "camera_id": "gate-2",
        "timestamp": "2021-11-23 17:56:47.896406",
        "filename": "gate-2.jpg",
        "results": [
            {
                "plate": "abc123",
                "score": 0.9,
                "box": {"xmin": 1, "ymin": 2, "xmax": 11, "ymax": 7},
                "region": {"code": "us-tx", "score": 0.8},
                "candidates": [{"plate": "abc123", "score": 0.9}],
            }
        ],
    },
}

AXIS_EVENT = {
    "packetCounter": "1077",
    "datetime": "20210611 130538252",
    "capture_timestamp": "1623405938252",
    "plateUTF8": "WE 12345",
    "plateASCII": "WE12345",
    "plateCountry": "POL",
    "plateConfidence": "0.719034",
    "carState": "lost",
    "carID": "55",
    "geotag": {"lat": 52.2297, "lon": 21.0122},
    "imageType": "plate",
    "plateCoordinates": [100, 200, 80, 20],
    "camera_info": {"SerialNumber": "ACCC8EF00001", "ProdShortName": "AXIS P1445-LE-3"},
}


class TestPlateRecognizerForms:
    def test_json_and_upload_parts(self, parse, form_body):
        body, ctype = form_body(
            [
                ("json", None, None, json.dumps(PR_STREAM).encode()),
                ("upload", "frame.jpg", "image/jpeg", JPEG),
            ]
        )
        payload = parse(body, ctype)
        assert payload.format == "platerecognizer" and payload.camera_hint == "gate-2"
        (read,) = payload.reads
        assert read.plate == "ABC123" and read.state == "TX"
        assert read.captured_at == datetime(2021, 11, 23, 17, 56, 47, 896406, tzinfo=UTC)
        assert "captured_at_zone_assumed" in read.flags
        assert read.plate_box == Box(x=1, y=2, width=10, height=5)
        (image,) = read.images
        assert image.kind == "overview" and base64.b64decode(image.data_b64) == JPEG
        # the image travels once: in raw_body its part holds its digest instead
        assert image.digest == "sha256:" + hashlib.sha256(JPEG).hexdigest()
        assert base64.b64decode(read.raw_body or "") == body.replace(JPEG, image.digest.encode())

    def test_resent_with_new_boundary_keeps_id(self, parse, form_body):
        body, ctype = form_body([("json", None, None, json.dumps(PR_STREAM).encode())])
        other = body.replace(b"alprTestBoundary", b"otherBoundaryXX")
        assert (
            parse(body, ctype).reads[0].read_id
            == parse(other, ctype.replace("alprTestBoundary", "otherBoundaryXX")).reads[0].read_id
        )

    def test_url_encoded_json_field(self, parse):
        body = urlencode({"json": json.dumps(PR_STREAM)}).encode()
        payload = parse(body, "application/x-www-form-urlencoded")
        assert payload.format == "platerecognizer" and payload.reads[0].plate == "ABC123"

    def test_vehicle_mode_result(self, parse):
        result = {
            "plate": {
                "type": "Plate",
                "score": 0.9,
                "box": {"xmin": 5, "ymin": 6, "xmax": 25, "ymax": 16},
                "props": {
                    "plate": [{"value": "xyz987", "score": 0.88}, {"value": "xyz981", "score": 0.5}],
                    "region": [{"value": "us-ny", "score": 0.7}],
                },
            },
            "vehicle": {"type": "Sedan", "score": 0.8, "props": {"color": [{"value": "red", "score": 0.6}]}},
        }
        doc = {
            "hook": {"id": 3, "event": "image.done"},
            "data": {"timestamp": "2020-10-12T16:17:27.574008Z", "results": [result]},
        }
        (read,) = parse(json.dumps(doc).encode()).reads
        assert read.plate == "XYZ987" and read.state == "NY" and read.confidence == pytest.approx(0.88)
        assert [c.plate for c in read.candidates] == ["XYZ987", "XYZ981"]
        assert read.vehicle == {"type": "Sedan", "color": "red"}
        assert read.plate_box == Box(x=5, y=6, width=20, height=10)

    def test_webhook_without_results_is_empty(self, parse):
        doc = {
            "hook": {"id": 2, "event": "image.done"},
            "data": {"timestamp": "2019-08-31T14:22:06.983Z", "results": []},
        }
        assert parse(json.dumps(doc).encode()).kind == "empty"

    def test_json_part_missing(self, parse, form_body):
        body, ctype = form_body([("upload", "f.jpg", "image/jpeg", JPEG)])
        with pytest.raises(InvalidInput) as err:
            parse(body, ctype, "platerecognizer")
        assert err.value.details["field"] == "json"


class TestHikvisionForms:
    def test_anpr_xml_with_pictures(self, parse, form_body):
        body, ctype = form_body(
            [
                ("anpr.xml", "anpr.xml", 'text/xml; charset="UTF-8"', HIK_XML.encode()),
                ("licensePlatePicture.jpg", "licensePlatePicture.jpg", "image/pjpeg", JPEG),
                ("detectionPicture.jpg", "detectionPicture.jpg", "image/jpeg", JPEG),
            ]
        )
        payload = parse(body, ctype)
        assert payload.format == "hikvision" and payload.camera_hint == "10.0.0.9"
        (read,) = payload.reads
        assert read.plate == "AB1234" and read.plate_raw == "ab 1234" and read.confidence == pytest.approx(0.88)
        assert read.captured_at == datetime(2024, 3, 1, 13, 0, 0, 125000, tzinfo=UTC)
        assert read.plate_box == Box(x=10, y=20, width=30, height=40)
        assert [(i.kind, i.content_type) for i in read.images] == [
            ("plate", "image/jpeg"),
            ("overview", "image/jpeg"),
        ]
        assert "vendor_resend" in read.flags and read.vendor_format == "hikvision.anpr_multipart"

    def test_empty_picture_part_is_skipped(self, parse, form_body):
        body, ctype = form_body(
            [
                ("anpr.xml", "anpr.xml", "text/xml", HIK_XML.encode()),
                ("licensePlatePicture.jpg", "licensePlatePicture.jpg", "image/pjpeg", b""),
            ]
        )
        assert parse(body, ctype).reads[0].images == []

    def test_resend_keeps_id(self, parse, form_body):
        first, ctype = form_body([("anpr.xml", "anpr.xml", "text/xml", HIK_XML.encode())])
        again, _ = form_body([("anpr.xml", "anpr.xml", "text/xml", HIK_XML.replace(">2<", ">3<").encode())])
        assert parse(first, ctype).reads[0].read_id == parse(again, ctype).reads[0].read_id

    def test_videoloss_keepalive_is_heartbeat(self, parse):
        xml = (
            b"<EventNotificationAlert><dateTime>2024-03-01T08:00:00Z</dateTime>"
            b"<eventType>videoloss</eventType></EventNotificationAlert>"
        )
        assert parse(xml, "application/xml").kind == "heartbeat"

    def test_box_outside_frame_is_dropped(self, parse):
        xml = HIK_XML.replace("<width>1920</width>", "<width>20</width>").encode()
        (read,) = parse(xml, "application/xml").reads
        assert read.plate_box is None and "plate_box_untrusted" in read.flags


class TestAxisForms:
    def test_event_and_image(self, parse, form_body):
        body, ctype = form_body(
            [
                ("event", "event.json", "application/json", json.dumps(AXIS_EVENT).encode()),
                ("image", "plate.jpg", "image/jpeg", JPEG),
            ]
        )
        payload = parse(body, ctype)
        assert payload.format == "axis" and payload.camera_hint == "ACCC8EF00001"
        (read,) = payload.reads
        assert read.plate == "WE12345" and read.plate_raw == "WE 12345"
        # capture_timestamp (epoch ms) wins over the local-time `datetime` string.
        assert read.captured_at == datetime(2021, 6, 11, 10, 5, 38, 252000, tzinfo=UTC)
        assert read.confidence == pytest.approx(0.719034) and read.confidence_raw == "0.719034"
        assert read.plate_box == Box(x=100, y=200, width=80, height=20)
        assert read.latitude == pytest.approx(52.2297) and read.images[0].kind == "plate"

    def test_bare_json_and_ff_datetime(self, parse):
        event = {k: v for k, v in AXIS_EVENT.items() if k != "capture_timestamp"}
        payload = parse(json.dumps(event).encode())
        (read,) = payload.reads
        assert payload.format == "axis" and read.vendor_format == "axis.ffgroup_json"
        assert read.captured_at == datetime(2021, 6, 11, 13, 5, 38, 252000, tzinfo=UTC)
        assert "captured_at_zone_assumed" in read.flags

    def test_non_latin_text_falls_back_to_ascii(self, parse):
        event = AXIS_EVENT | {"plateUTF8": "\u0391\u0392\u0393123", "plateASCII": "ABG123"}
        (read,) = parse(json.dumps(event).encode()).reads
        assert read.plate == "ABG123" and read.plate_raw == "\u0391\u0392\u0393123"


class TestMalformedMultipart:
    def test_missing_boundary(self, parse):
        with pytest.raises(MalformedPayload) as err:
            parse(b"--x\r\n", "multipart/form-data")
        assert err.value.code == "malformed_multipart"

    def test_unterminated(self, parse, form_body):
        body, ctype = form_body([("event", None, None, json.dumps(AXIS_EVENT).encode())])
        with pytest.raises(MalformedPayload) as err:
            parse(body[: body.rindex(b"--alpr")], ctype)
        assert err.value.code == "malformed_multipart"

    def test_unknown_parts(self, parse, form_body):
        body, ctype = form_body([("file", "x.bin", None, b"abc")])
        with pytest.raises(InvalidInput) as err:
            parse(body, ctype)
        assert err.value.code == "unknown_format"


class TestHikvisionVariants:
    def test_xml_part_with_other_name(self, parse, form_body):
        body, ctype = form_body([("MoveDetection.xml", "MoveDetection.xml", "application/xml", HIK_XML.encode())])
        payload = parse(body, ctype)
        assert payload.format == "hikvision" and payload.reads[0].plate == "AB1234"

    def test_southern_western_position(self, parse):
        gps = (
            "<DeviceGPSInfo><longitudeType>W</longitudeType><latitudeType>S</latitudeType>"
            "<Longitude><degree>70</degree><minute>30</minute><sec>0</sec></Longitude>"
            "<Latitude><degree>33</degree><minute>15</minute><sec>36</sec></Latitude></DeviceGPSInfo>"
        )
        xml = HIK_XML.replace("<UUID>", gps + "<UUID>").encode()
        (read,) = parse(xml, "application/xml").reads
        assert read.latitude == pytest.approx(-33.26) and read.longitude == pytest.approx(-70.5)

    def test_no_plate_read_is_a_vehicle(self, parse):
        xml = HIK_XML.replace("ab 1234", "unknown").encode()
        (read,) = parse(xml, "application/xml").reads
        assert read.plate is None and read.confidence is None
