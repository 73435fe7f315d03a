"""plate_choice: a scene read's plate is the found one nearest the vendor's text (O = 0), else the surest."""

from __future__ import annotations

import pytest

from services.recognizer.plate_choice import FoundReading, choose, distance, folded


class TestDistance:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("7ABC123", "7ABC123", 0),
            ("7ABC123", "7ABC128", 1),
            ("7ABC123", "ABC123", 1),
            ("", "ABC", 3),
            ("AB", "BA", 2),
        ],
    )
    def test_counts_insertions_deletions_and_substitutions(self, a: str, b: str, expected: int) -> None:
        assert distance(a, b) == expected == distance(b, a)

    def test_folding_makes_letter_o_and_digit_zero_one_character(self) -> None:
        assert folded("7-abo 120") == "7AB0120"
        assert distance("8OAK120", "80AK12O") == 0


class TestChoose:
    found = [
        FoundReading("6TRJ244", confidence=0.95, detection_score=0.9),  # the surest
        FoundReading("8OAK120", confidence=0.60, detection_score=0.7),
        FoundReading("5KLM001", confidence=0.90, detection_score=0.4),
    ]

    def test_the_reading_nearest_the_hint_wins_over_a_surer_one(self) -> None:
        assert choose(self.found, "80AK12O") == 1  # O/0 swapped both ways: distance 0
        assert choose(self.found, "5KLM00") == 2  # one character short

    def test_without_a_hint_the_surest_detection_and_reading_wins(self) -> None:
        assert choose(self.found, None) == 0
        assert choose(self.found, "") == 0
        assert choose([FoundReading("A", 0.99, 0.2), FoundReading("B", 0.5, 0.9)], None) == 1  # 0.198 < 0.45

    def test_equally_near_readings_fall_to_the_surer(self) -> None:
        pair = [FoundReading("ABC123", 0.5, 0.5), FoundReading("ABC124", 0.9, 0.9)]
        assert choose(pair, "ABC129") == 1
        assert choose(list(reversed(pair)), "ABC129") == 0

    def test_nothing_found_is_not_a_choice(self) -> None:
        with pytest.raises(ValueError):
            choose([], "ABC123")
