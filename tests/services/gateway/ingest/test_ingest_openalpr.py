"""OpenALPR / Rekor bodies beyond the shared samples: previews, alerts, vehicles, test hooks, refusals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from libs.common.errors import InvalidInput
from tests.utils.image_samples import jpeg

JPEG = base64.b64encode(jpeg()).decode()


def group(**overrides: object) -> dict:
    body: dict = {
        "version": 3,
        "data_type": "alpr_group",
        "epoch_start": 1630695989342,
        "epoch_end": 1630695990342,
        "camera_id": 1000,
        "agent_uid": "TESTTESTTESTTESTTEST",
        "uuids": ["TESTTEST-1000-1627675927504", "TESTTEST-1000-1627675927604"],
        "plate_indexes": [0, 0],
        "best_plate_number": "7ABC-123",
        "best_confidence": 91.5,
        "best_region": "us-ca",
        "best_uuid": "TESTTEST-1000-1627675927604",
        "best_uuid_epoch_ms": 1627675927604,
        "candidates": [{"plate": "7ABC123", "confidence": 91.5, "matches_template": 1}],
        "best_plate": {"plate": "7ABC123", "confidence": 91.5, "plate_crop_jpeg": JPEG, "coordinates": []},
        "vehicle_crop_jpeg": JPEG,
        "overview_jpeg": "data:image/jpeg;base64," + JPEG,
        "is_preview": False,
    }
    body.update(overrides)
    return body


def encode(doc: dict) -> bytes:
    return json.dumps(doc).encode()


class TestGroups:
    def test_v3_group_fields(self, parse):
        (read,) = parse(encode(group())).reads
        assert read.plate == "7ABC123" and read.plate_raw == "7ABC-123" and read.state == "CA"
        # epoch_start wins over the uuid suffixes (FORMATS.md §1.4 caveat).
        assert read.captured_at == datetime(2021, 9, 3, 19, 6, 29, 342000, tzinfo=UTC)
        assert [i.kind for i in read.images] == ["plate", "vehicle", "overview"]
        assert all(i.data_b64 == JPEG for i in read.images)
        assert read.vendor_format == "openalpr.alpr_group.v3"

    def test_final_names_the_preview_it_replaces(self, parse):
        preview = parse(encode(group(is_preview=True)))
        final = parse(encode(group(is_preview=False, best_confidence=95.0)))
        assert "vendor_preview" in preview.reads[0].flags
        assert preview.replaces_preview == []
        assert final.replaces_preview == [preview.reads[0].read_id]
        assert final.reads[0].read_id != preview.reads[0].read_id

    def test_groups_without_preview_flag_replace_nothing(self, parse):
        body = group()
        del body["is_preview"]
        assert parse(encode(body)).replaces_preview == []

    def test_bom_and_truncated_image_are_tolerated(self, parse):
        cut = JPEG[:-2]  # the 2.8.101 capture ends its vehicle crop mid-quantum
        body = b"\xef\xbb\xbf" + encode(group(vehicle_crop_jpeg=cut))
        (read,) = parse(body).reads
        assert "image_padded" in read.flags
        assert [i.kind for i in read.images] == ["plate", "vehicle", "overview"]

    def test_bad_plate_is_rejected_not_raised(self, parse):
        payload = parse(encode(group(best_plate_number="ABCDEFGHIJ1234567")))
        assert payload.reads == []
        assert payload.rejected == [
            {
                "index": 0,
                "code": "invalid_plate",
                "field": "plate",
                "message": "plate cannot be stored",
                "plate_raw": "ABCDEFGHIJ1234567",
                "reason": "plate_too_long",
            }
        ]

    def test_missing_best_plate_is_invalid(self, parse):
        body = group()
        del body["best_plate"], body["best_plate_number"]
        with pytest.raises(InvalidInput) as err:
            parse(encode(body))
        assert err.value.code == "invalid_field" and err.value.details["field"] == "best_plate"

    def test_wrong_type_is_invalid(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(encode(group(epoch_start="soon")))
        assert err.value.details["field"] == "epoch_start"


class TestOtherDataTypes:
    def test_alert_maps_to_the_group_read(self, parse):
        alert = {
            "data_type": "alpr_alert",
            "version": 1,
            "epoch_time": 1630695991000,
            "camera_number": 1000,
            "alert_list": "Stolen",
            "list_type": "Blacklist",
            "plate_number": "7ABC123",
            "group": group(),
        }
        payload = parse(encode(alert))
        assert payload.reads[0].read_id == parse(encode(group())).reads[0].read_id
        assert "vendor_alert" in payload.reads[0].flags and payload.camera_hint == "1000"

    def test_alert_envelope_with_null_data_type(self, parse):
        payload = parse(encode({"data_type": None, "group": group()}))
        assert payload.reads[0].vendor_format == "openalpr.alpr_alert"

    def test_vehicle_without_plate(self, parse):
        body = group(data_type="vehicle", vehicle={"missing_plate": [{"name": "yes", "confidence": 90}]})
        for key in ("best_plate", "best_plate_number", "best_confidence", "candidates"):
            del body[key]
        (read,) = parse(encode(body)).reads
        assert read.plate is None and read.candidates == []
        assert read.vehicle == {"missing_plate": "yes"}
        assert [i.kind for i in read.images] == ["vehicle", "overview"]

    def test_test_webhook(self, parse):
        payload = parse(b'{"openalpr_webhook": "test"}')
        assert payload.kind == "test" and payload.reads == [] and payload.format == "openalpr"

    def test_results_without_plates_are_empty(self, parse):
        payload = parse(encode({"data_type": "alpr_results", "epoch_time": 1562681608425, "results": []}))
        assert payload.kind == "empty"

    def test_results_keep_good_plates_and_list_refused_ones(self, parse):
        results = [{"plate": "ABC123", "confidence": 90}, {"plate": "--", "confidence": 80}]
        body = {"data_type": "alpr_results", "epoch_time": 1562681608425, "uuid": "u-1", "results": results}
        payload = parse(encode(body))
        assert [r.plate for r in payload.reads] == ["ABC123"]
        (refused,) = payload.rejected
        assert refused["index"] == 1 and refused["code"] == "invalid_plate" and refused["reason"] == "plate_unreadable"

    def test_two_row_plate_folds(self, parse):
        body = {"data_type": "alpr_results", "epoch_time": 1562681608425, "results": [{"plate": "AB\n123"}]}
        (read,) = parse(encode(body)).reads
        assert read.plate == "AB123" and read.plate_raw == "AB\n123"

    def test_unknown_data_type(self, parse):
        with pytest.raises(InvalidInput) as err:
            parse(b'{"data_type": "telemetry"}', fmt="openalpr")
        assert err.value.details["field"] == "data_type"
