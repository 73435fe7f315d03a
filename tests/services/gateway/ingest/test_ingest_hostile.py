"""Hostile camera posts refused at the door: controls, lone surrogates, extreme dates, DTDs, deep JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from libs.common.errors import InvalidInput, MalformedPayload

NOW = datetime.now(UTC)
ACTIVE_DAYS = 358  # 365 days of retention less a 7-day backup window, as records keeps by default
BAD_TEXT = {"nul": "\x00", "control": "\x1b", "surrogate": "\ud800"}
OUT_OF_WINDOW = {
    "year 1 with an offset": ("0001-01-01T00:00:00+05:00", "time_out_of_range"),
    "year 1": ("0001-01-01T00:00:00+00:00", "captured_before_retention"),
    "2099": ("2099-01-01T00:00:00+00:00", "captured_in_future"),
    "9999": ("9999-12-15T00:00:00+00:00", "captured_in_future"),
    "9999 with an offset": ("9999-12-31T23:00:00-05:00", "time_out_of_range"),
    "before the cutoff": ((NOW - timedelta(days=ACTIVE_DAYS, hours=1)).isoformat(), "captured_before_retention"),
}


def encode(doc: object) -> bytes:
    """JSON as cameras send it: lone surrogates escaped, so the body itself is valid UTF-8."""
    return json.dumps(doc).encode()


def native(plate: str = "7ABC123", captured_at: str | None = None, **extra: object) -> dict:
    return {"plate": plate, "captured_at": captured_at or NOW.isoformat(), **extra}


def openalpr(**extra: object) -> dict:
    return {
        "data_type": "alpr_group",
        "version": 2,
        "epoch_start": int(NOW.timestamp() * 1000),
        "uuids": ["hostile-1"],
        "best_plate_number": "ABC123",
        "best_plate": {"plate": "ABC123", "confidence": 90.0},
        "vehicle": {"make": [{"name": "ford", "confidence": 80.0}]},
        **extra,
    }


def platerecognizer(**extra: object) -> dict:
    result = {"plate": "abc123", "score": 0.9}
    return {"camera_id": "gate-2", "timestamp": NOW.isoformat(), "results": [result], **extra}


def genetec(vehicle_type: str = "Car", **extra: object) -> dict:
    analytics = [{"Key": "Vehicle Type", "Score": 1.0, "Value": vehicle_type}]
    return {"Id": "g-1", "PlateRead": "ABC 123", "Timestamp": NOW.isoformat(), "PlateAnalytics": analytics, **extra}


def genetec_xml(vehicle_type: str = "Car", timestamp: str | None = None) -> bytes:
    return (
        f"<Plate><PlateRead>ABC123</PlateRead><Timestamp>{timestamp or NOW.isoformat()}</Timestamp>"
        "<PlateAnalytics><PlateAnalytics><Key>Vehicle Type</Key>"
        f"<Value>{vehicle_type}</Value></PlateAnalytics></PlateAnalytics></Plate>"
    ).encode()


def hikvision_xml(vehicle_type: str = "car", date_time: str | None = None) -> bytes:
    return (
        '<EventNotificationAlert xmlns="http://www.isapi.org/ver20/XMLSchema"><ipAddress>10.0.0.9</ipAddress>'
        f"<dateTime>{date_time or NOW.isoformat()}</dateTime><eventType>ANPR</eventType><UUID>h-1</UUID>"
        f"<ANPR><licensePlate>AB1234</licensePlate><vehicleType>{vehicle_type}</vehicleType></ANPR>"
        "</EventNotificationAlert>"
    ).encode()


def axis(**extra: object) -> dict:
    return {"capture_timestamp": str(int(NOW.timestamp() * 1000)), "plateUTF8": "WE 12345", "carID": "5", **extra}


def verkada(**data: object) -> dict:
    fields = {"camera_id": "v-1", "detected": int(NOW.timestamp() * 1000), "license_plate_number": "8XYZ123"}
    return {"webhook_type": "lpr", "created_at": int(NOW.timestamp()), "data": fields | data}


@pytest.fixture
def door(parse):
    """parse_payload as the gateway calls it: now, and the capture window records will store."""

    def run(body: bytes, content_type: str = "application/json", fmt: str | None = None):
        return parse(body, content_type, fmt, received_at=NOW, active_retention_days=ACTIVE_DAYS)

    return run


def refused(call, code: str, field: str | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as err:
        call()
    assert err.value.code == code and err.value.status == 422
    if field is not None:
        assert err.value.details["field"] == field
    return err.value


@pytest.mark.parametrize("bad", list(BAD_TEXT.values()), ids=list(BAD_TEXT))
class TestTextInEveryFormat:
    """NUL, other controls and lone surrogates in any vendor's text: 4xx naming the field, known field or not."""

    def test_native_single_read(self, door, bad):
        refused(lambda: door(encode(native(plate_raw=f"7AB{bad}"))), "invalid_text", "plate_raw")

    def test_native_field_we_do_not_know(self, door, bad):
        refused(lambda: door(encode(native(note=f"x{bad}"))), "invalid_text", "note")

    def test_native_image_content_type(self, door, bad):
        image = {"kind": "plate", "data_b64": f"data:image/jp{bad}eg;base64,/9j/4AAQ"}
        refused(lambda: door(encode(native(images=[image]))), "invalid_text", "images[0].data_b64")

    def test_openalpr_vehicle_make(self, door, bad):
        vehicle = {"make": [{"name": f"ford{bad}", "confidence": 80.0}]}
        refused(lambda: door(encode(openalpr(vehicle=vehicle))), "invalid_text", "vehicle.make[0].name")

    def test_openalpr_field_added_later(self, door, bad):
        refused(lambda: door(encode(openalpr(agent_note={"text": bad}))), "invalid_text", "agent_note.text")

    def test_platerecognizer_json(self, door, bad):
        body = encode(platerecognizer(camera_id=f"gate{bad}"))
        refused(lambda: door(body, fmt="platerecognizer"), "invalid_text", "camera_id")

    def test_platerecognizer_multipart(self, door, form_body, bad):
        body, ctype = form_body([("json", None, "application/json", encode(platerecognizer(filename=f"a{bad}")))])
        refused(lambda: door(body, ctype, "platerecognizer"), "invalid_text", "filename")

    def test_platerecognizer_url_encoded_form(self, door, bad):
        body = urlencode({"json": json.dumps(platerecognizer(filename=f"a{bad}"))}).encode()
        refused(lambda: door(body, "application/x-www-form-urlencoded", "platerecognizer"), "invalid_text")

    def test_genetec_vehicle_type(self, door, bad):
        refused(lambda: door(encode(genetec(f"Car{bad}")), fmt="genetec"), "invalid_text", "PlateAnalytics[0].Value")

    def test_axis_json(self, door, bad):
        refused(lambda: door(encode(axis(plateCountry=f"POL{bad}")), fmt="axis"), "invalid_text", "plateCountry")

    def test_axis_multipart_event(self, door, form_body, bad):
        body, ctype = form_body([("event", None, "application/json", encode(axis(carState=f"lost{bad}")))])
        refused(lambda: door(body, ctype, "axis"), "invalid_text", "carState")

    def test_verkada(self, door, bad):
        refused(lambda: door(encode(verkada(license_plate_state=f"us-ca{bad}"))), "invalid_text")


class TestTextInXml:
    """Expat refuses NUL, C0 controls and surrogate references itself (400); DEL gets through it to ReadIn."""

    @pytest.mark.parametrize("bad", ["\x00", "\x1b", "&#0;", "&#x1b;", "&#xD800;"])
    @pytest.mark.parametrize(("fmt", "document"), [("genetec", genetec_xml), ("hikvision", hikvision_xml)])
    def test_controls_are_malformed(self, door, fmt, document, bad):
        with pytest.raises(MalformedPayload) as err:
            door(document(f"Car{bad}"), "application/xml", fmt)
        assert err.value.code == "malformed_xml" and err.value.status == 400

    def test_genetec_xml_vehicle_type_with_del(self, door):
        refused(lambda: door(genetec_xml("Car\x7f"), "application/xml", "genetec"), "invalid_text", "vehicle")

    def test_hikvision_xml_vehicle_type_with_del(self, door):
        refused(lambda: door(hikvision_xml("car\x7f"), "application/xml", "hikvision"), "invalid_text", "vehicle")

    def test_hikvision_multipart_part(self, door, form_body):
        body, ctype = form_body([("anpr.xml", "anpr.xml", "application/xml", hikvision_xml("car\x7f"))])
        refused(lambda: door(body, ctype, "hikvision"), "invalid_text", "vehicle")

    def test_raw_nul_in_a_url_encoded_form_is_refused_as_the_raw_body(self, door):
        body = urlencode({"json": json.dumps(platerecognizer())}).encode() + b"&note=a\x00b"
        refused(lambda: door(body, "application/x-www-form-urlencoded", "platerecognizer"), "invalid_text", "raw_body")


class TestCaptureWindow:
    """Times outside [purge cutoff, now + skew] are refused alone and listed in a batch; the rest is kept."""

    @pytest.mark.parametrize(("sent", "code"), list(OUT_OF_WINDOW.values()), ids=list(OUT_OF_WINDOW))
    def test_a_lone_read(self, door, sent, code):
        refused(lambda: door(encode(native(captured_at=sent))), code, "captured_at")

    def test_within_the_skew_is_kept(self, door):
        (read,) = door(encode(native(captured_at=(NOW + timedelta(minutes=9)).isoformat()))).reads
        assert read.received_at == NOW

    def test_a_batch_keeps_the_good_reads_and_names_each_refused_one(self, door):
        times = [sent for sent, _ in OUT_OF_WINDOW.values()]
        reads = [native("GOOD1"), *(native(f"BAD{i}", sent) for i, sent in enumerate(times)), native("GOOD2")]
        reads.insert(1, native("BADTEXT", plate_raw="BAD\x00TEXT"))
        payload = door(encode({"reads": reads}))
        assert [r.plate for r in payload.reads] == ["GOOD1", "GOOD2"]
        codes = ["invalid_text"] + [code for _, code in OUT_OF_WINDOW.values()]
        assert [(r["index"], r["code"]) for r in payload.rejected] == list(zip(range(1, 8), codes, strict=True))
        assert payload.rejected[0]["field"] == "reads[1].plate_raw"
        assert {r["field"] for r in payload.rejected[1:]} == {f"reads[{i}].captured_at" for i in range(2, 8)}
        assert all(set(r) == {"index", "code", "field", "message"} for r in payload.rejected)

    def test_an_item_that_is_no_read_is_rejected_alone(self, door):
        payload = door(encode({"reads": [native("GOOD1"), 5, ["x"], native("GOOD2")]}))
        assert [r.plate for r in payload.reads] == ["GOOD1", "GOOD2"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (1, "invalid_field", "reads[1]"),
            (2, "invalid_field", "reads[2]"),
        ]

    def test_genetec_9999_with_an_offset(self, door):
        doc = genetec(Timestamp="9999-12-31T23:59:59-05:00")
        refused(lambda: door(encode(doc), fmt="genetec"), "time_out_of_range", "Timestamp")

    def test_hikvision_9999(self, door):
        body = hikvision_xml(date_time="9999-12-15T00:00:00+08:00")
        refused(lambda: door(body, "application/xml", "hikvision"), "captured_in_future", "captured_at")

    def test_openalpr_epoch_before_the_cutoff(self, door):
        old = int((NOW - timedelta(days=400)).timestamp() * 1000)
        refused(lambda: door(encode(openalpr(epoch_start=old))), "captured_before_retention", "captured_at")

    def test_verkada_in_2099(self, door):
        later = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp() * 1000)
        refused(lambda: door(encode(verkada(detected=later))), "captured_in_future", "captured_at")

    def test_axis_ff_group_year_1(self, door):
        doc = axis(capture_timestamp="", datetime="00010101 000000000+0500")
        refused(lambda: door(encode(doc), fmt="axis"), "time_out_of_range", "datetime")


def alpr_results(*plates: str, **extra: object) -> dict:
    results = [{"plate": p, "confidence": 90.0} for p in plates]
    epoch = int(NOW.timestamp() * 1000)
    return {"data_type": "alpr_results", "epoch_time": epoch, "uuid": "r-1", "results": results, **extra}


def pr_results(*plates: str) -> dict:
    return {**platerecognizer(), "results": [{"plate": p, "score": 0.9} for p in plates]}


class TestOneBadResultOfSeveral:
    """A vendor post of several reads refuses only the read whose own text or time is bad, as a native batch."""

    @pytest.mark.parametrize("bad", [*BAD_TEXT.values(), "\x7f"], ids=[*BAD_TEXT, "del"])
    def test_openalpr_results_keep_the_good_read(self, door, bad):
        body = encode(alpr_results("ABC123", f"XYZ{bad}789")).replace(b"\\u007f", b"\x7f")  # JSON allows a raw DEL
        payload = door(body, fmt="openalpr")
        (read,) = payload.reads
        assert read.plate == "ABC123"
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (1, "invalid_text", "results[1].plate")
        ]
        assert all(set(r) == {"index", "code", "field", "message"} for r in payload.rejected)
        # a post of several results: each read keeps its own result as evidence, not the refused one's text
        assert read.raw_body is not None and "ABC123" in read.raw_body and "XYZ" not in read.raw_body

    def test_openalpr_agent_fields_still_refuse_the_whole_post(self, door):
        body = encode(alpr_results("ABC123", "XYZ789", agent_uid="agent\x00"))
        refused(lambda: door(body, fmt="openalpr"), "invalid_text", "agent_uid")

    def test_openalpr_shared_time_out_of_window_refuses_the_post(self, door):
        body = encode(alpr_results("ABC123", epoch_time=int(datetime(2099, 1, 1, tzinfo=UTC).timestamp() * 1000)))
        refused(lambda: door(body, fmt="openalpr"), "captured_in_future", "epoch_time")

    @pytest.mark.parametrize("bad", list(BAD_TEXT.values()), ids=list(BAD_TEXT))
    def test_platerecognizer_results_keep_the_good_read(self, door, bad):
        payload = door(encode(pr_results("abc123", f"xyz{bad}789")), fmt="platerecognizer")
        assert [r.plate for r in payload.reads] == ["ABC123"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (1, "invalid_text", "data.results[1].plate")
        ]

    def test_platerecognizer_multipart_keeps_the_good_read(self, door, form_body):
        doc = {"hook": {"event": "recognition", "id": "cam-1"}, "data": pr_results("abc123", "xyz\x00789")}
        body, ctype = form_body([("json", None, "application/json", encode(doc))])
        payload = door(body, ctype, "platerecognizer")
        assert [r.plate for r in payload.reads] == ["ABC123"]
        assert [(r["index"], r["field"]) for r in payload.rejected] == [(1, "data.results[1].plate")]

    def test_platerecognizer_over_long_vehicle_type_refuses_that_result(self, door):
        doc = pr_results("abc123", "xyz789")
        doc["results"][0]["vehicle"] = {"type": "x" * 10_000, "score": 0.9}
        payload = door(encode(doc), fmt="platerecognizer")
        assert [r.plate for r in payload.reads] == ["XYZ789"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (0, "text_too_long", "data.results[0].vehicle")
        ]

    @pytest.mark.parametrize(
        ("fmt", "doc", "field"),
        [
            ("openalpr", alpr_results("A\x00B1", "C\x00D2"), "results[{}].plate"),
            ("platerecognizer", pr_results("a\x00b1", "c\x00d2"), "data.results[{}].plate"),
        ],
        ids=["openalpr", "platerecognizer"],
    )
    def test_every_result_refused_lists_each_and_keeps_nothing(self, door, fmt, doc, field):
        payload = door(encode(doc), fmt=fmt)
        assert payload.reads == []
        assert [(r["index"], r["field"]) for r in payload.rejected] == [(i, field.format(i)) for i in range(2)]


class TestXmlDocuments:
    def test_a_utf16_dtd_is_refused(self, door):
        body = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "ABC123">]><Plate><PlateRead>&a;'
        body += f"</PlateRead><Timestamp>{NOW.isoformat()}</Timestamp></Plate>"
        with pytest.raises(MalformedPayload) as err:
            door(body.encode("utf-16"), "application/xml", "genetec")
        assert err.value.code == "malformed_xml" and "DTD" in err.value.message

    @pytest.mark.parametrize("encoding", ["bogus", "big5", "utf-16"])
    def test_an_encoding_expat_cannot_read_is_400(self, door, encoding):
        body = f'<?xml version="1.0" encoding="{encoding}"?><Plate><PlateRead>ABC123</PlateRead></Plate>'
        with pytest.raises(MalformedPayload) as err:
            door(body.encode(), "application/xml", "genetec")
        assert err.value.status == 400


class TestJsonDocuments:
    @pytest.mark.parametrize("fmt", [None, "native", "openalpr", "genetec", "verkada", "axis", "platerecognizer"])
    def test_deep_nesting_is_400(self, door, fmt):
        with pytest.raises(MalformedPayload) as err:
            door(b"[" * 100_000, "application/json", fmt)
        assert err.value.code == "json_too_deep" and err.value.status == 400

    def test_deep_nesting_in_a_multipart_part(self, door, form_body):
        body, ctype = form_body([("json", None, "application/json", b'{"a":' * 50 + b"1" + b"}" * 50)])
        with pytest.raises(MalformedPayload) as err:
            door(body, ctype, "platerecognizer")
        assert err.value.code == "json_too_deep"

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_nan_is_not_json(self, door, constant):
        body = encode(axis()).replace(b'"carID"', f'"plateCoordinates": [{constant}, 1, 2, 3], "carID"'.encode())
        with pytest.raises(MalformedPayload) as err:
            door(body, "application/json", "axis")
        assert err.value.code == "malformed_json"
