"""Verification rules (E2, E3, E5) and list staleness (E4), without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.alerts import Alert, VerificationIn
from libs.common.contracts.reads import Candidate, ReadIn
from libs.common.contracts.recognition import Recognition
from libs.common.errors import Conflict, InvalidInput
from services.records.alerts.service import (
    character_mismatches,
    check_disposition,
    check_reopening,
    judge,
    texts_of,
)
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


VIEW = "0b9e7f0e-3c55-4bfe-9d2e-6f4c1c1f2a11"


# the entry and its list as they stand at verification: still listed, fed an hour ago
LISTED = {"source": "ncic", "list_refreshed_at": T - timedelta(hours=1), "removed_at": None}
LISTED |= {"expires_at": T + timedelta(days=1)}


def judged(
    alert: Alert,
    check: VerificationIn,
    *,
    has_image: bool = True,
    view_id: str | None = VIEW,
    standing: dict[str, Any] | None = LISTED,
) -> Any:
    return judge(alert, check, has_image=has_image, view_id=view_id, standing=standing, now=T)


class TestJudge:
    def test_everything_agreeing_after_looking_at_the_image_confirms(self) -> None:
        verdict = judged(_alert(), _check())
        assert verdict["outcome"] == "confirmed" and verdict["character_mismatches"] == []
        assert verdict["reasons"] == [] and verdict["image_view_id"] == VIEW

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
        assert judged(_alert(), check)["outcome"] == "investigate_only"

    def test_mismatched_positions_are_recorded(self) -> None:
        assert character_mismatches("7ABC123", "7A8C12") == [2, 6]

    def test_wildcard_entry_agrees_when_the_pattern_covers_the_plate(self) -> None:
        wildcard = _alert(plate="7AB?12*", match_type="wildcard")
        assert judged(wildcard, _check(plate="7ABX1299"))["outcome"] == "confirmed"
        assert judged(wildcard, _check(plate="7ABX1399"))["outcome"] == "investigate_only"

    def test_a_stale_list_never_confirms(self) -> None:
        verdict = judged(_alert(stale=True), _check())
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == ["stale_list"]

    def test_a_list_gone_stale_since_the_alert_never_confirms(self) -> None:
        went_stale = LISTED | {"list_refreshed_at": T - timedelta(days=3)}
        verdict = judged(_alert(), _check(), standing=went_stale)
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == ["stale_list"]

    def test_a_manual_list_is_judged_by_its_entry_not_its_refresh(self) -> None:
        manual = LISTED | {"source": "manual", "list_refreshed_at": T - timedelta(days=3)}
        assert judged(_alert(), _check(), standing=manual)["outcome"] == "confirmed"

    @pytest.mark.parametrize(
        ("standing", "reason"),
        [
            (LISTED | {"removed_at": T - timedelta(minutes=5)}, "entry_removed"),
            (None, "entry_removed"),  # removed, and its row since forgotten
            (LISTED | {"expires_at": T}, "entry_expired"),
        ],
    )
    def test_an_entry_no_longer_listed_never_confirms(self, standing: dict[str, Any] | None, reason: str) -> None:
        verdict = judged(_alert(), _check(), standing=standing)
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == [reason]

    def test_the_plate_seen_must_be_plate_characters(self) -> None:
        with pytest.raises(InvalidInput):
            judged(_alert(), _check(plate="7AB*123"))

    def test_a_lookalike_match_never_confirms_even_when_the_officer_sees_the_listed_plate(self) -> None:
        # the camera read 8A8C123, the list holds 8ABC123: the officer typing the list's plate proves nothing
        lookalike = _alert(plate="8ABC123", match_type="lookalike", matched_text="8A8C123")
        verdict = judged(lookalike, _check(plate="8ABC123"))
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == ["lookalike_match"]

    def test_no_image_means_investigate_only_with_no_view_needed(self) -> None:
        verdict = judged(_alert(), _check(), has_image=False, view_id=None)
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == ["no_image"]

    def test_an_image_not_looked_at_refuses_the_check(self) -> None:
        with pytest.raises(Conflict) as refused:
            judged(_alert(), _check(), view_id=None)
        assert refused.value.code == "image_not_viewed"

    def test_investigate_only_stays_whatever_a_later_check_finds(self) -> None:
        verdict = judged(_alert(status="investigate_only"), _check())
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == ["already_investigate_only"]

    def test_a_confirmed_alert_checked_again_with_a_mismatch_falls_to_investigate_only(self) -> None:
        verdict = judged(_alert(status="confirmed"), _check(vehicle=False))
        assert verdict["outcome"] == "investigate_only" and verdict["reasons"] == ["vehicle_mismatch"]

    def test_a_closed_alert_is_not_checked(self) -> None:
        with pytest.raises(Conflict) as refused:
            judged(_alert(status="closed"), _check())
        assert refused.value.code == "alert_closed"


class TestReopening:
    def test_only_an_investigate_only_alert_reopens(self) -> None:
        check_reopening(_alert(status="investigate_only"))
        for status, code in (("pending", "alert_not_investigate_only"), ("confirmed", "alert_not_investigate_only")):
            with pytest.raises(Conflict) as refused:
                check_reopening(_alert(status=status))
            assert refused.value.code == code
        with pytest.raises(Conflict) as closed:
            check_reopening(_alert(status="closed"))
        assert closed.value.code == "alert_closed"


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

    @pytest.mark.parametrize(
        ("plate", "texts"),
        [
            ("7abc123", [("7ABC123", "vendor")]),
            ("7 ABC-12.3", [("7ABC123", "vendor")]),  # separators dropped, as on the general path
            ("\u017f7", [("S7", "vendor")]),  # upper-cased into ASCII before the check
            ("\u216b1", [("\u216b1", "vendor")]),  # not ASCII: the separator rule decides
            (" - ", []),  # nothing left of the plate: no text to match
            ("", []),
            (None, []),
        ],
    )
    def test_a_read_with_only_the_vendor_s_text(self, plate: str | None, texts: list[tuple[str, str]]) -> None:
        read = ReadIn(read_id="r", agency="a", camera_id="c", captured_at=T, plate=plate)
        assert texts_of(ReadRow(read=read)) == texts

    def test_a_plain_plate_is_normalized_without_the_separator_rule(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from libs.common.contracts import reads

        class NoRule:
            def sub(self, *_: object) -> str:
                raise AssertionError("the separator rule ran for a plate with no separator")

        monkeypatch.setattr(reads, "_PLATE_STRIP", NoRule())
        assert reads.normalize_plate("7abc123") == "7ABC123"
