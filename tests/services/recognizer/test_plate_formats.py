"""The state prior: a vendor's state re-orders the reader's own candidates by its serial formats, never adds one."""

from __future__ import annotations

import random
import re

import pytest

from libs.common.errors import InvalidInput
from services.recognizer.engine.calibrator import Calibration
from services.recognizer.engine.plate_formats import (
    STATE_FORMATS,
    STATE_PRIOR_MISS,
    fits_state,
    normalise_state,
    rerank_for_state,
)
from services.recognizer.engine.reader import PlateReader, Reading
from services.recognizer.engine.state_designs import BY_CODE
from services.recognizer.engine.synth import render_plate

CHARS: dict[str, tuple[float, ...]] = {
    "7SAM123": (0.9, 0.6, 0.9, 0.9, 0.9, 0.9, 0.9),
    "75AM123": (0.9, 0.3, 0.9, 0.9, 0.9, 0.9, 0.9),
}


class TestFormats:
    @pytest.mark.parametrize(
        ("plate", "state", "fits"),
        [
            ("7SAM123", "CA", True),
            ("75AM123", "CA", False),
            ("ABC1234", "TX", True),
            ("AB1C2D", "MO", True),
            ("AB1C23", "MO", False),
            ("1ABC234", "ZZ", False),  # a state the table does not cover fits nothing
            ("7S0M123", "CA", True),  # the reader writes O as 0, so a letter slot takes 0
        ],
    )
    def test_fits(self, plate: str, state: str, fits: bool) -> None:
        assert fits_state(plate, state) is fits

    def test_every_state_and_dc_has_formats_the_synthetic_designs_draw_from(self) -> None:
        # one table: a vendor's state re-ranks by the serials the reader was trained on for that state
        assert len(STATE_FORMATS) == 51 and {"DC", "ID", "LA", "AK", "WY"} <= set(STATE_FORMATS)
        assert all(BY_CODE[code].layouts is layouts for code, layouts in STATE_FORMATS.items())
        assert set(BY_CODE) == set(STATE_FORMATS)

    @pytest.mark.parametrize(
        ("unsure", "fitting", "state"),
        [("1A2345B", "1A23456", "ID"), ("ABCI23", "ABC123", "LA"), ("S1234A", "51234A", "MT")],
    )
    def test_states_the_held_back_set_holds_many_of_are_re_ranked(self, unsure: str, fitting: str, state: str) -> None:
        ranked = rerank_for_state([(unsure, 0.5), (fitting, 0.3)], {}, state)
        assert ranked is not None and ranked.plate == fitting

    def test_every_layout_is_letters_digits_and_separators_only(self) -> None:
        for layouts in STATE_FORMATS.values():
            for layout in layouts:
                assert re.fullmatch(r"[LD][LD -]*[LD]", layout), layout

    def test_a_state_is_two_letters_or_nothing(self) -> None:
        assert normalise_state(" ca ") == "CA"
        assert normalise_state(None) is None and normalise_state("") is None
        with pytest.raises(InvalidInput) as err:
            normalise_state("California")
        assert err.value.code == "state_invalid"


class TestRerank:
    def test_a_fitting_runner_up_passes_an_unsure_misread(self) -> None:
        ranked = rerank_for_state([("75AM123", 0.5), ("7SAM123", 0.3)], CHARS, "CA")
        assert ranked is not None
        assert ranked.plate == "7SAM123" and ranked.confidence == 0.3  # its own confidence, not the leader's
        assert ranked.char_confidences == list(CHARS["7SAM123"])
        assert sorted(ranked.candidates) == sorted([("75AM123", 0.5), ("7SAM123", 0.3)])  # nothing invented

    def test_a_confident_reading_that_fits_nothing_stays_first(self) -> None:
        # a vanity plate: the fitting alternative would need more than STATE_PRIOR_MISS of its probability
        candidates = [("GOBEARS", 0.9), ("G0BEAR5", 0.9 * STATE_PRIOR_MISS - 0.01)]
        ranked = rerank_for_state(candidates, {}, "CA")
        assert ranked is not None and ranked.plate == "GOBEARS"

    @pytest.mark.parametrize("state", [None, "ZZ"])
    def test_no_state_or_an_unknown_one_changes_nothing(self, state: str | None) -> None:
        assert rerank_for_state([("75AM123", 0.5), ("7SAM123", 0.3)], CHARS, state) is None


class TestReaderForState:
    def test_the_promoted_plate_is_sure_only_if_its_own_confidence_is(self) -> None:
        reader = PlateReader([], version="test", calibration=Calibration.of_temperature(1.0, 0.4))
        reading = Reading(
            "75AM123", 0.5, list(CHARS["75AM123"]), [("75AM123", 0.5), ("7SAM123", 0.3)], sure=True, char_scores=CHARS
        )
        promoted = reader.for_state(reading, "CA")
        assert (promoted.plate, promoted.confidence, promoted.sure) == ("7SAM123", 0.3, False)
        assert reader.for_state(reading, "NY") is reading  # neither fits New York: the order stays
        assert reader.for_state(reading, None) is reading

    def test_a_real_reading_re_ranked_keeps_its_candidates(self, reader: PlateReader) -> None:
        reading = reader.read(render_plate(random.Random(9)).image)
        for state in STATE_FORMATS:
            ranked = reader.for_state(reading, state)
            assert sorted(ranked.candidates) == sorted(reading.candidates)
            assert (ranked.plate, ranked.confidence) in ranked.candidates
            assert len(ranked.char_confidences) == len(ranked.plate)
