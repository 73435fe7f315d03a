"""The vehicle-differs rule: only attributes both sides state, the camera's with confidence, a clear difference."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from libs.common.contracts.alerts import HotlistEntrySnapshot
from libs.common.contracts.vehicles import normalize_vehicle
from services.records.alerts.vehicle_check import MIN_CONFIDENCE, listed_vehicle, vehicle_difference

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def entry(**vehicle: Any) -> HotlistEntrySnapshot:
    return HotlistEntrySnapshot(
        entry_id=1,
        hotlist_id="h",
        hotlist_name="NCIC",
        source="ncic",
        plate="8ABC123",
        entered_at=NOW,
        refreshed_at=NOW,
        expires_at=NOW,
        **vehicle,
    )


WHITE_TOYOTA_SEDAN = listed_vehicle(entry(make="TOYT", colour="WHI", style="4D", vehicle_year=2019))


class TestVehicleDifference:
    def test_clear_difference_names_both_sides(self):
        seen = normalize_vehicle({"make": ("ford", 0.9), "color": ("red", 0.9), "body_type": ("pickup", 0.9)})
        assert (
            vehicle_difference(WHITE_TOYOTA_SEDAN, seen) == "list says white Toyota sedan, camera saw red Ford pickup"
        )

    def test_low_confidence_is_not_compared(self):
        unsure = MIN_CONFIDENCE - 0.01
        seen = normalize_vehicle({"make": ("ford", unsure), "color": ("red", unsure), "body_type": ("pickup", unsure)})
        assert vehicle_difference(WHITE_TOYOTA_SEDAN, seen) is None

    def test_no_confidence_is_not_compared(self):  # Hikvision gives none
        assert vehicle_difference(WHITE_TOYOTA_SEDAN, normalize_vehicle({"color": ("red", None)})) is None

    def test_neighbouring_colours_and_body_family_agree(self):
        seen = normalize_vehicle({"make": ("toyota", 0.9), "color": ("silver", 0.9), "body_type": ("hatchback", 0.9)})
        assert vehicle_difference(WHITE_TOYOTA_SEDAN, seen) is None

    def test_year_outside_the_cameras_range_differs(self):
        seen = normalize_vehicle({"make": ("toyota", 0.9), "year": ("2005-2009", 0.8)})
        assert vehicle_difference(WHITE_TOYOTA_SEDAN, seen) == "list says 2019 Toyota, camera saw 2005-2009 Toyota"

    def test_an_unknown_camera_value_is_not_a_difference(self):
        seen = normalize_vehicle({"make": ("zastava", 0.99), "color": ("chartreuse", 0.99)})
        assert vehicle_difference(WHITE_TOYOTA_SEDAN, seen) is None

    def test_a_list_without_a_vehicle_flags_nothing(self):
        seen = normalize_vehicle({"make": ("ford", 0.9)})
        assert vehicle_difference(listed_vehicle(entry()), seen) is None
        assert vehicle_difference(WHITE_TOYOTA_SEDAN, None) is None
