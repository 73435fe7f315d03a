"""Records meets a read with the gateway's own rules: what slipped past the door is refused, never dropped unseen."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from libs.common.contracts import reads as reads_contract
from libs.common.contracts.reads import ReadIn
from libs.common.errors import InvalidInput
from libs.common.validation import retention_cutoff
from services.records import service
from services.records.service import CaptureWindows, read_refusal

ACTIVE_DAYS = 358
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def read(captured_at: datetime, received_at: datetime | None = NOW, **extra: object) -> ReadIn:
    return ReadIn(
        read_id="3f1c2a4e-0000-5000-8000-000000000001",
        agency="CA0430000",
        camera_id="cam-1",
        plate="7ABC123",
        captured_at=captured_at,
        received_at=received_at,
        **extra,
    )


def refusal(sent: ReadIn, now: datetime = NOW) -> str | None:
    return read_refusal(sent, now=now, active_retention_days=ACTIVE_DAYS, clock_skew_s=600)


class TestTheWindow:
    @pytest.mark.parametrize(
        ("captured_at", "code"),
        [
            (datetime(2099, 1, 1, tzinfo=UTC), "captured_in_future"),
            (datetime(9999, 12, 15, tzinfo=UTC), "captured_in_future"),
            (NOW + timedelta(minutes=11), "captured_in_future"),
            (datetime(1, 1, 1, tzinfo=UTC), "captured_before_retention"),
            (NOW - timedelta(days=ACTIVE_DAYS, seconds=1), "captured_before_retention"),
        ],
    )
    def test_outside_the_window_is_refused_by_the_shared_rule(self, captured_at: datetime, code: str) -> None:
        with pytest.raises(InvalidInput) as err:
            read(captured_at).check_window(active_retention_days=ACTIVE_DAYS)
        assert err.value.code == code and err.value.details["field"] == "captured_at"

    def test_records_sets_apart_what_the_gateway_would_have_refused(self) -> None:
        assert refusal(read(datetime(2099, 1, 1, tzinfo=UTC))) == "captured_in_future"
        too_old = read(NOW - timedelta(days=ACTIVE_DAYS + 1))
        # refused (dead-lettered), not dropped: the gateway should never have accepted it
        assert refusal(too_old) == "captured_before_retention_at_receipt"

    def test_a_read_taken_at_the_edge_is_not_refused_when_records_gets_it_late(self) -> None:
        taken = read(retention_cutoff(NOW, ACTIVE_DAYS) + timedelta(seconds=1))
        later = NOW + timedelta(seconds=5)
        taken.check_window(active_retention_days=ACTIVE_DAYS, now=later)  # the window at receipt, not now
        assert refusal(taken, now=later) == "captured_before_retention"  # expired in the queue: dropped by law

    def test_the_future_bound_moves_with_receipt(self) -> None:
        sent = read(NOW + timedelta(minutes=9))
        assert refusal(sent, now=NOW + timedelta(hours=1)) is None


class TestOneWindowPerInstant:
    """Ingest meets a batch's reads through CaptureWindows: read_refusal's answer, each instant's window once."""

    CASES = (
        (NOW - timedelta(hours=1), NOW),
        (datetime(2099, 1, 1, tzinfo=UTC), NOW),
        (NOW + timedelta(minutes=10), NOW),  # the future edge itself is inside
        (NOW + timedelta(minutes=10, microseconds=1), NOW),
        (NOW - timedelta(days=ACTIVE_DAYS), NOW),  # the cutoff itself is inside
        (NOW - timedelta(days=ACTIVE_DAYS + 1), NOW),
        (retention_cutoff(NOW, ACTIVE_DAYS) + timedelta(seconds=1), NOW - timedelta(seconds=5)),  # expired queued
        (datetime(1, 1, 1, tzinfo=UTC), NOW),
        (NOW - timedelta(hours=1), None),  # published before received_at existed: records' clock
        (NOW - timedelta(hours=1), datetime(1, 1, 2, tzinfo=UTC)),  # no window at such an instant
        (NOW + timedelta(hours=1), NOW + timedelta(hours=2)),
    )

    @pytest.mark.parametrize(("captured_at", "received_at"), CASES)
    def test_each_read_is_answered_as_read_refusal_answers_it(
        self, captured_at: datetime, received_at: datetime | None
    ) -> None:
        sent = read(captured_at, received_at)
        windows = CaptureWindows(now=NOW, active_retention_days=ACTIVE_DAYS, clock_skew_s=600)
        assert windows.refusal(sent) == refusal(sent)
        assert windows.refusal(sent) == refusal(sent)  # and again, from the window kept

    def test_a_batch_post_s_reads_share_one_window(self, monkeypatch: pytest.MonkeyPatch) -> None:
        worked_out: list[datetime] = []
        real = service.capture_window

        def counted(now: datetime, **kwargs: float) -> tuple[datetime, datetime]:
            worked_out.append(now)
            return real(now, **kwargs)

        monkeypatch.setattr(service, "capture_window", counted)
        windows = CaptureWindows(now=NOW, active_retention_days=ACTIVE_DAYS, clock_skew_s=600)
        later = NOW + timedelta(seconds=1)
        batch = [read(NOW - timedelta(minutes=i)) for i in range(1000)] + [read(NOW, received_at=later)]
        assert [windows.refusal(r) for r in batch] == [None] * len(batch)
        assert worked_out == [NOW, later]


class TestParsedFromTheBus:
    """What records parses with: ReadIn's validators refuse what PostgreSQL would refuse later."""

    def message(self, **changes: object) -> bytes:
        doc = json.loads(read(NOW).model_dump_json())
        doc.update(changes)
        return json.dumps(doc).encode()

    @pytest.mark.parametrize(
        ("field", "value", "kind"),
        [
            ("plate_raw", "7ABC\u0000123", "invalid_text"),
            ("plate_raw", "7ABC\ud800", "json_invalid"),  # pydantic's JSON parser refuses it before any rule
            ("vehicle", {"type": "Car\u0000"}, "invalid_text"),
            ("camera_id", "cam\x1b", "invalid_text"),
            ("raw_body", '{"a": "\u0000"}', "invalid_text"),
            ("flags", ["ok", "bad\x07"], "invalid_text"),
            ("plate", "A" * 16, "text_too_long"),
            ("captured_at", "9999-12-31T23:00:00-05:00", "time_out_of_range"),
        ],
    )
    def test_a_message_that_cannot_be_stored_does_not_parse(self, field: str, value: object, kind: str) -> None:
        with pytest.raises(ValidationError) as err:
            ReadIn.model_validate_json(self.message(**{field: value}))
        (first, *_) = err.value.errors()
        assert first["type"] == kind and first["loc"][:1] == (() if kind == "json_invalid" else (field,))

    def test_nan_in_a_box_does_not_parse(self) -> None:
        with pytest.raises(ValidationError):
            ReadIn.model_validate(
                {**json.loads(self.message()), "plate_box": {"x": float("nan"), "y": 0, "width": 1, "height": 1}}
            )

    def test_printable_text_within_its_limit_is_passed_without_the_full_rule(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # eight text fields a read, parsed in the gateway and again in records: the common case stays short
        def full_rule(value: str, **_: object) -> str:
            raise AssertionError(f"the full rule ran for {value!r}")

        monkeypatch.setattr(reads_contract, "_text_refusal", full_rule)
        sent = ReadIn.model_validate_json(self.message(plate_raw="7ABC 123", confidence_raw="0.9", vendor="acme"))
        assert sent.plate_raw == "7ABC 123" and sent.raw_body is None

    @pytest.mark.parametrize(
        ("field", "value", "kind"),
        [
            ("plate", "A" * 16, "text_too_long"),  # printable, past its limit
            ("camera_id", "c" * 201, "text_too_long"),
            ("camera_id", "cam\n1", "invalid_text"),  # a line break in a one-line field
            ("raw_body", '{"a": "\x1b"}', "invalid_text"),
        ],
    )
    def test_what_the_short_path_does_not_pass_meets_the_full_rule(self, field: str, value: str, kind: str) -> None:
        with pytest.raises(ValidationError) as err:
            ReadIn.model_validate_json(self.message(**{field: value}))
        assert [(e["type"], e["loc"]) for e in err.value.errors()] == [(kind, (field,))]

    def test_text_not_printable_yet_storable_is_still_accepted(self) -> None:
        # a no-break space is not printable to Python, nor a control: the full rule passes it, as before
        sent = ReadIn.model_validate_json(self.message(vendor="acme\u00a0", raw_body="{\n}"))
        assert sent.vendor == "acme\u00a0" and sent.raw_body == "{\n}"

    def test_a_two_row_plate_keeps_its_line_break(self) -> None:
        assert ReadIn.model_validate_json(self.message(plate_raw="7ABC\n123")).plate_raw == "7ABC\n123"

    def test_records_stores_a_two_row_plate_the_gateway_accepted(self) -> None:
        # records scanned the text a second time with its own rule, which refused plate_raw's line break
        assert refusal(read(NOW - timedelta(hours=1), plate_raw="7ABC\n123")) is None
