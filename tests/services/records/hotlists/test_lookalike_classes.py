"""Look-alike character classes: the settings string and the key."""

from __future__ import annotations

import pytest

from libs.common.errors import InvalidInput
from services.records.lookalike import DEFAULT_LOOKALIKE_SPEC, LookalikeClasses, lookalike_key


class TestLookalikeKey:
    @pytest.mark.parametrize(
        ("plate", "key"),
        [("0ODQ", "0000"), ("1IL", "111"), ("8B5S2Z6G", "88552266"), ("7ABC123", "7A8C123"), ("XYW", "XYW")],
    )
    def test_default_classes(self, plate: str, key: str) -> None:
        assert lookalike_key(plate) == key

    def test_non_ascii_and_wildcards_pass_through(self) -> None:
        assert lookalike_key("กข1*?") == "กข1*?"


class TestParse:
    def test_settings_string(self) -> None:
        classes = LookalikeClasses.parse("0OD Q, 1il ,8B")
        assert classes.classes == ("0ODQ", "1IL", "8B")
        assert lookalike_key("QIB5", classes) == "0185"

    def test_default_spec_round_trips(self) -> None:
        assert ",".join(LookalikeClasses.parse(DEFAULT_LOOKALIKE_SPEC).classes) == DEFAULT_LOOKALIKE_SPEC

    @pytest.mark.parametrize("spec", ["0O,O1", "0O,1#"])
    def test_overlapping_or_foreign_characters_refused(self, spec: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            LookalikeClasses.parse(spec)
        assert refused.value.code == "bad_lookalike_class"
