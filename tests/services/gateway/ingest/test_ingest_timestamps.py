"""Timestamp, confidence and state rules of FORMATS.md §14."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from libs.common.errors import InvalidInput
from services.gateway.ingest.confidence import confidence
from services.gateway.ingest.plates import state_code
from services.gateway.ingest.timestamps import from_any, from_compact, from_ff_group, from_iso

NOON = datetime(2021, 6, 11, 10, 5, 38, tzinfo=UTC)


class TestTimestamps:
    @pytest.mark.parametrize(
        "sent",
        [
            1623405938,
            1623405938000,
            "1623405938000",
            1623405938000000000,
            "2021-06-11T10:05:38Z",
            "2021-06-11T13:05:38+03:00",
            "2021-06-11 10:05:38",
            "2021-06-11T10:05:38.0000000+00:00",
        ],
    )
    def test_same_instant(self, sent):
        assert from_any(sent, field="t").at == NOON

    @pytest.mark.parametrize("sent", [12345, True, None, "2021-13-40", 1e30])
    def test_refused(self, sent):
        with pytest.raises(InvalidInput) as err:
            from_any(sent, field="t")
        assert err.value.code == "invalid_field" and err.value.details["field"] == "t"

    def test_genetec_seven_digit_fraction(self):
        assert from_iso("2016-10-21T21:35:04.8627622+00:00", field="t").at.microsecond == 862762

    def test_missing_zone_is_utc_and_marked(self):
        stamp = from_iso("2016-08-29T08:42:45.797", field="t")
        assert stamp.zone_assumed and stamp.at.tzinfo == UTC and stamp.at.hour == 8

    def test_ff_group(self):
        assert from_ff_group("20210611 100538252", field="t").at == NOON + timedelta(milliseconds=252)
        assert from_ff_group("20210611 130538252+0300", field="t").at == NOON + timedelta(milliseconds=252)

    def test_hikvision_abstime(self):
        zone = timezone(timedelta(hours=8))
        assert from_compact("20240119111719654", field="t", zone=zone).at == datetime(
            2024, 1, 19, 3, 17, 19, 654000, tzinfo=UTC
        )


class TestConfidence:
    def test_percent_and_fraction(self):
        assert confidence(92.5, scale=100, field="c").value == pytest.approx(0.925)
        assert confidence("0.72", scale=1, field="c").raw == "0.72"

    def test_not_available_and_overshoot(self):
        assert confidence(-1.0, scale=100, field="c").value is None
        assert confidence(101, scale=100, field="c").value == 1.0

    def test_not_a_number(self):
        with pytest.raises(InvalidInput):
            confidence("high", scale=1, field="c")


class TestStateCodes:
    @pytest.mark.parametrize(
        ("region", "bare_is_state", "state"),
        [
            ("us-ca", False, "CA"),
            ("ca-on", False, "ON"),
            ("ma", True, "MA"),
            ("gb", False, None),
            ("", True, None),
            ("-", True, None),
            ("eu-de", False, None),
            (None, True, None),
        ],
    )
    def test_codes(self, region, bare_is_state, state):
        assert state_code(region, bare_is_state=bare_is_state) == state
