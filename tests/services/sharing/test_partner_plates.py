"""The plates a partner may name: a searched plate once separators go, a wildcard entry's known characters."""

from __future__ import annotations

import pytest

from libs.common.errors import InvalidInput
from services.sharing.partners.plates import check_wildcard, searched_plate


class TestSearchedPlate:
    @pytest.mark.parametrize("raw", ["--", "- -", "\u00a0-\u00a0", "._", "A-", "*?", "АВ"])
    def test_fewer_than_two_letters_or_digits_left_is_refused(self, raw: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            searched_plate(raw)
        assert refused.value.code == "plate_too_short" and refused.value.status == 422

    @pytest.mark.parametrize(("raw", "plate"), [("8abc 123", "8ABC123"), ("8A-B\u00a0C", "8ABC"), ("7-A", "7A")])
    def test_separators_go_and_the_rest_is_searched(self, raw: str, plate: str) -> None:
        assert searched_plate(raw) == plate


class TestWildcardEntry:
    @pytest.mark.parametrize("plate", ["7*", "a*", "*7", "A?", "7-*", "A*B", "??A?", "7AB*", "*000", "7A?C"])
    def test_fewer_than_four_known_characters_is_refused(self, plate: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            check_wildcard(plate, index=4)
        assert refused.value.code == "wildcard_too_short" and refused.value.details == {"index": 4}

    @pytest.mark.parametrize("plate", ["7ABC*", "7A?C1", "7A", "8ABC123"])
    def test_four_known_characters_or_no_wildcard_passes(self, plate: str) -> None:
        check_wildcard(plate, index=0)
