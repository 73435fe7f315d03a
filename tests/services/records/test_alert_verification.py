"""Verification rules (E2, E3, E5) and list staleness (E4), without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.alerts import Alert, VerificationIn
from libs.common.contracts.reads import Candidate, ReadIn
from libs.common.contracts.recognition import Recognition
from libs.common.errors import Conflict, InvalidInput
from services.records.alerts.service import character_mismatches, check_disposition, judge, texts_of
from services.records.hotlists.service import is_stale
from services.records.service import ReadRow

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _alert(plate: str = "7ABC123", state: str | None = "CA", **fields: Any) -> Alert:
    entry = {"entry_id": 1, "hotlist_id": "h", "hotlist_name": "n", "source": "manual", "plate": plate}
    entry |= {"state": state, "entered_at": T, "refreshed_at": T, "expires_at": T + timedelta(days=1)}
    body = {"alert_id": "a", "raised_at": T, "read_id": "r", "captured_at": T, "agency": "CA0430000"}
    body |= {"camera_id": "c", "match_type": "exact", "matched_text": plate, "matched_origin": "vendor"}
    body |= {"state_mismatch": False, "entry": entry, "entry_age_s": 0.0}
    return Alert.model_validate(body | fields)


def _check(plate: str = "7ABC123", state: str | None = "CA", vehicle: bool = True) -> VerificationIn:
    return VerificationIn(alert_id="a", officer_sub="o", plate_seen=plate, state_seen=state, vehicle_matches=vehicle)


class TestJudge:
    def test_everything_agreeing_confirms(self) -> None:
        verdict = judge(_alert(), _check())
        assert verdict["outcome"] == "confirmed" and verdict["character_mismatches"] == []

    @pytest.mark.parametrize(
        "check",
        [
            _check(plate="7A8C123"),
            _check(state="NV"),
            _check(state=None),
            _check(vehicle=False),
            _check(plate="7ABC12"),
        ],
    )
    def test_any_disagreement_means_investigate_only(self, check: VerificationIn) -> None:
        assert judge(_alert(), check)["outcome"] == "investigate_only"

    def test_mismatched_positions_are_recorded(self) -> None:
        assert character_mismatches("7ABC123", "7A8C12") == [2, 6]

    def test_wildcard_entry_agrees_when_the_pattern_covers_the_plate(self) -> None:
        assert judge(_alert(plate="7AB?12*"), _check(plate="7ABX1299"))["outcome"] == "confirmed"
        assert judge(_alert(plate="7AB?12*"), _check(plate="7ABX1399"))["outcome"] == "investigate_only"

    def test_a_stale_list_never_confirms(self) -> None:
        assert judge(_alert(stale=True), _check())["outcome"] == "investigate_only"

    def test_the_plate_seen_must_be_plate_characters(self) -> None:
        with pytest.raises(InvalidInput):
            judge(_alert(), _check(plate="7AB*123"))


class TestDisposition:
    def test_confirmed_needs_a_confirming_verification(self) -> None:
        with pytest.raises(Conflict):
            check_disposition(_alert(status="investigate_only"), "confirmed")
        check_disposition(_alert(status="confirmed"), "confirmed")
        check_disposition(_alert(status="pending"), "not_located")

    def test_a_closed_alert_stays_closed(self) -> None:
        with pytest.raises(Conflict):
            check_disposition(_alert(status="closed"), "misread")


class TestStaleness:
    def test_fed_lists_go_stale_after_24_hours_manual_lists_never(self) -> None:
        assert is_stale("ncic", T - timedelta(hours=24, seconds=1), T) is True
        assert is_stale("partner", T - timedelta(hours=23), T) is False
        assert is_stale("ca_doj_stolen_vehicle", None, T) is True
        assert is_stale("manual", None, T) is False


class TestTexts:
    def test_vendor_then_ours_then_every_candidate_each_once(self) -> None:
        read = ReadIn(
            read_id="r",
            agency="a",
            camera_id="c",
            captured_at=T,
            plate="7ABC123",
            candidates=[Candidate(plate="7ABC123", confidence=0.9), Candidate(plate="7A8C123", confidence=0.5)],
        )
        ours = Recognition(
            plate="7ABCI23",
            confidence=0.7,
            char_confidences=[0.7] * 7,
            candidates=[Candidate(plate="7ABC1Z3", confidence=0.2), Candidate(plate="7A8C123", confidence=0.1)],
            model_version="m",
            elapsed_ms=1.0,
        )
        assert texts_of(ReadRow(read=read, recognition=ours)) == [
            ("7ABC123", "vendor"),
            ("7ABCI23", "ours"),
            ("7A8C123", "candidate"),
            ("7ABC1Z3", "candidate"),
        ]
