"""Each vendor's vehicle attributes in the shared taxonomy at ingest: samples, unknowns, hostile text."""

from __future__ import annotations

import json

import pytest

from libs.common.errors import InvalidInput


def _sample(folder, name: str) -> bytes:
    path = folder / name
    if not path.exists():
        pytest.skip(f"sample {name} not present")
    return path.read_bytes()


def openalpr_group(vehicle: dict, uuid: str = "veh-1") -> bytes:
    """An agent's alpr_group v2 carrying `vehicle` as a real agent sends it: lists of {name, confidence in %}."""
    return json.dumps(
        {
            "data_type": "alpr_group",
            "version": 2,
            "epoch_start": 1767323000000,
            "uuids": [uuid],
            "best_plate_number": "8ABC123",
            "best_plate": {"plate": "8ABC123", "confidence": 91.0},
            "vehicle": vehicle,
        }
    ).encode()


def ranked(*pairs: tuple[str, float]) -> list[dict]:
    return [{"name": name, "confidence": score} for name, score in pairs]


WHITE_BMW_X3 = {
    "color": ranked(("white", 88.1), ("silver-gray", 6.0)),
    "make": ranked(("bmw", 92.4), ("mini", 2.0)),
    "make_model": ranked(("bmw_x3", 71.3), ("bmw_x5", 12.0)),
    "body_type": ranked(("suv-crossover", 83.9), ("suv-standard", 9.1)),
    "year": ranked(("2015-2019", 40.2)),
    "orientation": ranked(("90", 60.0)),
}
WHITE_KENWORTH = {
    "color": ranked(("white", 90.0)),
    "make": ranked(("kenworth", 77.0)),
    "make_model": ranked(("kenworth_t680", 44.0)),
    "body_type": ranked(("tractor-trailer", 86.0)),
}


class TestOpenAlpr:
    def test_real_agent_capture_maps_to_the_taxonomy(self, parse):
        (read,) = parse(openalpr_group(WHITE_BMW_X3)).reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert (seen.make, seen.model, seen.color, seen.body_type) == ("BMW", "x3", "white", "suv-crossover")
        assert (seen.year_from, seen.year_to) == (2015, 2019)
        assert seen.confidence["make"] == pytest.approx(0.924) and seen.confidence["color"] == pytest.approx(0.881)
        assert seen.raw == {
            "make": "bmw",
            "model": "bmw_x3",
            "color": "white",
            "body_type": "suv-crossover",
            "year": "2015-2019",
        }
        assert read.vehicle["make_model"] == "bmw_x3"  # the vendor's own names stay as they were

    def test_a_tractor_trailer_beside_it_is_not_an_suv(self, parse):
        (read,) = parse(openalpr_group(WHITE_KENWORTH, uuid="veh-2")).reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert (seen.make, seen.color, seen.body_type) == ("Kenworth", "white", "tractor-trailer")

    def test_shared_sample(self, parse, vendor_samples):
        (read,) = parse(_sample(vendor_samples, "openalpr_agent_alpr_group_v2.json")).reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert (seen.make, seen.model, seen.color, seen.body_type) == ("Ford", "focus", "black", "sedan")
        assert seen.confidence["body_type"] == pytest.approx(0.5117, abs=1e-4)

    def test_unknown_values_stay_raw_and_are_not_guessed(self, parse):
        vehicle = {"make": ranked(("zastava", 80.0)), "color": ranked(("chartreuse", 70.0))}
        (read,) = parse(openalpr_group(vehicle)).reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert seen.make is None and seen.color is None
        assert seen.raw == {"make": "zastava", "color": "chartreuse"}
        assert seen.confidence == {"make": pytest.approx(0.8), "color": pytest.approx(0.7)}

    def test_look_alike_letters_are_not_a_make(self, parse):
        (read,) = parse(openalpr_group({"make": ranked(("\u0412\u041cW", 90.0))})).reads  # Cyrillic VE, EM
        assert read.vehicle_attributes is not None and read.vehicle_attributes.make is None

    def test_no_vehicle_object_no_attributes(self, parse, vendor_samples):
        (read,) = parse(_sample(vendor_samples, "openalpr_agent_alpr_group_v1_2015.json")).reads
        assert read.vehicle_attributes is None

    @pytest.mark.parametrize("bad", ["\x00", "\x1b", "\ud800"])
    def test_hostile_text_refused(self, parse, bad):
        with pytest.raises(InvalidInput) as err:
            parse(openalpr_group({"color": ranked((f"white{bad}", 80.0))}))
        assert err.value.code == "invalid_text"

    def test_a_name_that_is_not_text_refused(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(openalpr_group({"color": [{"name": {"nested": "white"}, "confidence": 80.0}]}))
        assert err.value.details["field"] == "vehicle.color[0].name"


def platerecognizer(result: dict) -> bytes:
    base = {"plate": "8abc123", "score": 0.9, "box": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 12}}
    return json.dumps({"camera_id": "gate-2", "timestamp": "2026-01-02T03:00:00Z", "results": [base | result]}).encode()


class TestPlateRecognizer:
    def test_classic_result_with_make_model_and_colour(self, parse):
        result = {
            "vehicle": {"type": "Pickup Truck", "score": 0.81},
            "model_make": [{"make": "Ford", "model": "F-150", "score": 0.64}],
            "color": [{"color": "red", "score": 0.77}],
            "orientation": [{"orientation": "Front", "score": 0.9}],
        }
        (read,) = parse(platerecognizer(result), "application/json", "platerecognizer").reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert (seen.make, seen.model, seen.color, seen.body_type) == ("Ford", "f 150", "red", "pickup")
        assert seen.confidence == {
            "body_type": pytest.approx(0.81),
            "make": pytest.approx(0.64),
            "model": pytest.approx(0.64),
            "color": pytest.approx(0.77),
        }

    def test_vehicle_mode_result(self, parse):
        result = {
            "plate": {
                "type": "Plate",
                "score": 0.9,
                "box": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 12},
                "props": {"plate": [{"value": "8abc123", "score": 0.9}], "region": [{"value": "us-ca", "score": 0.8}]},
            },
            "vehicle": {
                "type": "SUV",
                "score": 0.7,
                "props": {
                    "make_model": [{"make": "Toyota", "model": "RAV4", "score": 0.5}],
                    "color": [{"value": "silver", "score": 0.6}],
                },
            },
        }
        (read,) = parse(platerecognizer(result), "application/json", "platerecognizer").reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert (seen.make, seen.model, seen.color, seen.body_type) == ("Toyota", "rav4", "silver-gray", "suv-crossover")

    def test_no_vehicle_found_is_no_type(self, parse):
        (read,) = parse(
            platerecognizer({"vehicle": {"type": "Sedan", "score": 0}}), "application/json", "platerecognizer"
        ).reads
        assert read.vehicle_attributes is None

    def test_stream_sample(self, parse, vendor_samples):
        (read,) = parse(_sample(vendor_samples, "platerecognizer_stream_webhook_recognition.json")).reads
        seen = read.vehicle_attributes
        assert seen is not None and seen.body_type == "truck" and seen.raw == {"body_type": "Big Truck"}
        assert seen.confidence["body_type"] == pytest.approx(0.267)


class TestHikvisionGenetecAxisVerkada:
    def test_hikvision_sample_colour_kept_logo_code_raw(self, parse, vendor_samples):
        body = _sample(vendor_samples, "hikvision_anpr_EventNotificationAlert.xml")
        (read,) = parse(body, "application/xml").reads
        seen = read.vehicle_attributes
        assert seen is not None
        assert seen.color == "white" and seen.make is None and seen.body_type is None
        assert seen.raw == {"body_type": "vehicle", "color": "white", "make": "1036"}  # no logo table: not guessed
        assert seen.confidence == {}

    def test_genetec_vehicle_type(self, parse):
        analytics = [{"Key": "Vehicle Type", "Score": 0.93, "Value": "SUV"}]
        doc = {"Id": "g-1", "PlateRead": "ABC123", "Timestamp": "2026-01-02T03:00:00Z", "PlateAnalytics": analytics}
        (read,) = parse(json.dumps(doc).encode()).reads
        seen = read.vehicle_attributes
        assert seen is not None and seen.body_type == "suv-crossover"
        assert seen.confidence == {"body_type": pytest.approx(0.93)}

    @pytest.mark.parametrize("name", ["genetec_sharpv_http_read.json", "genetec_sharpv_http_read.xml"])
    def test_genetec_samples_say_nothing_of_the_vehicle(self, parse, vendor_samples, name):
        ctype = "application/xml" if name.endswith(".xml") else "application/json"
        (read,) = parse(_sample(vendor_samples, name), ctype).reads
        assert read.vehicle_attributes is None  # `Vehicle Type` is "-" there: empty
