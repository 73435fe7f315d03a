"""The shared vehicle vocabulary: vendor and NCIC spellings in, one taxonomy out, unknowns kept raw."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from libs.common.contracts.vehicles import (
    BODY_TYPES,
    COLORS,
    VehicleAttributes,
    normalize_body_type,
    normalize_color,
    normalize_make,
    normalize_model,
    normalize_vehicle,
    normalize_year,
)


class TestMakes:
    @pytest.mark.parametrize(
        ("raw", "make"),
        [
            ("bmw", "BMW"),
            ("BMW", "BMW"),
            ("mercedes-benz", "Mercedes-Benz"),
            ("Mercedes Benz", "Mercedes-Benz"),
            ("MERZ", "Mercedes-Benz"),  # NCIC VMA
            ("TOYT", "Toyota"),
            ("chevy", "Chevrolet"),
            ("land-rover_range-rover", "Land Rover"),  # OpenALPR make_model
            ("bmw_x3", "BMW"),
            ("KW", "Kenworth"),
        ],
    )
    def test_aliases(self, raw, make):
        assert normalize_make(raw) == make

    @pytest.mark.parametrize("raw", ["zastava", "1036", "\u0412\u041cW", "bm", "", None])
    def test_unknown_is_none_not_a_guess(self, raw):
        assert normalize_make(raw) is None


class TestColoursBodiesYearsModels:
    @pytest.mark.parametrize(
        ("raw", "color"),
        [
            ("white", "white"),
            ("Silver", "silver-gray"),
            ("GRY", "silver-gray"),
            ("WHI/BLK", "white"),
            ("tan", "brown-beige"),
        ],
    )
    def test_colours(self, raw, color):
        assert normalize_color(raw) == color

    @pytest.mark.parametrize(
        ("raw", "body"),
        [
            ("suv", "suv-crossover"),
            ("suv-crossover", "suv-crossover"),
            ("SUV", "suv-crossover"),
            ("sedan-compact", "sedan"),
            ("4D", "sedan"),
            ("PK", "pickup"),
            ("Pickup Truck", "pickup"),
            ("Big Truck", "truck"),
            ("tractor-trailer", "tractor-trailer"),
            ("van-mini", "minivan"),
        ],
    )
    def test_body_types(self, raw, body):
        assert normalize_body_type(raw) == body

    def test_unknown_colour_and_body_are_none(self):
        assert normalize_color("chartreuse") is None and normalize_body_type("vehicle") is None

    def test_every_alias_lands_in_the_taxonomy(self):
        spellings = ["white", "silver", "GRY", "maroon", "BGE", "suv", "4D", "UT", "van-full", "Bus", "MC"]
        found = [normalize_color(s) or normalize_body_type(s) for s in spellings]
        assert all(f in COLORS or f in BODY_TYPES for f in found)

    @pytest.mark.parametrize(
        ("raw", "years"),
        [
            ("2012", (2012, 2012)),
            (2012, (2012, 2012)),
            ("2010-2014", (2010, 2014)),
            ("2014-2010", None),
            ("1850", None),
            ("new", None),
        ],
    )
    def test_years(self, raw, years):
        assert normalize_year(raw) == years

    def test_model_loses_its_make_only(self):
        assert normalize_model("bmw_x3", make="BMW") == "x3"
        assert normalize_model("land-rover_range-rover", make="Land Rover") == "range rover"
        assert normalize_model("F-150", make="Ford") == "f 150"
        assert normalize_model("bmw", make="BMW") == "bmw"  # never the whole name


class TestVehicleAttributes:
    def test_raw_values_and_confidences_kept(self):
        seen = normalize_vehicle({"model": ("bmw_x3", 0.7), "color": ("white", 0.9), "body_type": ("hovercraft", 0.8)})
        assert (seen.make, seen.model, seen.color, seen.body_type) == ("BMW", "x3", "white", None)
        assert seen.raw == {"model": "bmw_x3", "color": "white", "body_type": "hovercraft"}
        assert seen.confidence == {"model": 0.7, "color": 0.9, "body_type": 0.8}

    def test_an_unknown_make_is_not_overruled_by_the_model(self):
        seen = normalize_vehicle({"make": ("\u0412\u041cW", 0.9), "model": ("bmw_x3", 0.9)})
        assert seen.make is None and seen.raw["make"] == "\u0412\u041cW"

    def test_nothing_said_is_empty(self):
        assert normalize_vehicle({"color": (None, 0.5), "make": ("  ", None)}).is_empty()

    @pytest.mark.parametrize("bad", ["\x00", "\x1b", "\ud800", "x" * 201])
    def test_hostile_raw_text_refused(self, bad):
        with pytest.raises(ValidationError) as err:
            normalize_vehicle({"color": (f"white{bad}", 0.5)})
        assert err.value.errors()[0]["type"] in ("invalid_text", "text_too_long")

    @pytest.mark.parametrize("score", [1.5, -0.1, float("nan")])
    def test_confidence_outside_zero_to_one_refused(self, score):
        with pytest.raises(ValidationError):
            VehicleAttributes(color="white", raw={"color": "white"}, confidence={"color": score})

    def test_described(self):
        seen = normalize_vehicle({"make": ("ford", 1.0), "color": ("red", 1.0), "year": ("2014", 1.0)})
        assert seen.described() == "red 2014 Ford"
