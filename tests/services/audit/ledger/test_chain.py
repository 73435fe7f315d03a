"""Canonical encoding and hashing of access records."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from libs.common.errors import InvalidInput
from services.audit.ledger.chain import (
    GENESIS_HASH,
    RECORD_DOCUMENT,
    canonical_bytes,
    canonical_json,
    format_timestamp,
    link_after,
    record_hash,
)

FIELDS = {
    "seq": 7,
    "event_id": "0b7c6f4e-2d1a-4a53-9d1e-6f1f3f0c2a11",
    "event_type": "search",
    "occurred_at": datetime(2026, 3, 2, 14, 30, 5, 123456, tzinfo=UTC),
    "actor": {"sub": "oidc|4711", "name": "Dana Ruiz", "badge": "B0042", "agency": "BFO"},
    "payload": {"plates": ["7ABC123"], "reason": "stolen vehicle — witness report", "result_count": 2},
    "prev_hash": "ab" * 32,
}


class TestCanonicalEncoding:
    def test_sorted_keys_no_whitespace_utf8(self) -> None:
        expected = (
            '{"actor":{"agency":"BFO","badge":"B0042","name":"Dana Ruiz","sub":"oidc|4711"},'
            '"event_id":"0b7c6f4e-2d1a-4a53-9d1e-6f1f3f0c2a11","event_type":"search",'
            '"occurred_at":"2026-03-02T14:30:05.123456Z",'
            '"payload":{"plates":["7ABC123"],"reason":"stolen vehicle — witness report","result_count":2},'
            f'"prev_hash":"{"ab" * 32}","seq":7}}'
        )
        assert canonical_bytes(**FIELDS) == expected.encode("utf-8")

    def test_same_record_same_bytes_whatever_the_key_order(self) -> None:
        shuffled = {**FIELDS, "actor": dict(reversed(FIELDS["actor"].items()))}
        assert canonical_bytes(**shuffled) == canonical_bytes(**FIELDS)

    def test_stored_json_text_hashes_like_the_mapping(self) -> None:
        as_text = {
            **FIELDS,
            "actor": canonical_json(FIELDS["actor"]),
            "payload": canonical_json(FIELDS["payload"]),
        }
        assert record_hash(**as_text) == record_hash(**FIELDS)

    def test_hash_is_sha256_of_canonical_bytes(self) -> None:
        assert record_hash(**FIELDS) == hashlib.sha256(canonical_bytes(**FIELDS)).hexdigest()

    @pytest.mark.parametrize(
        "field, value",
        [
            ("seq", 8),
            ("event_type", "export"),
            ("prev_hash", "cd" * 32),
            ("payload", {"plates": ["7ABC124"]}),
        ],
    )
    def test_every_field_is_covered(self, field: str, value: object) -> None:
        assert record_hash(**{**FIELDS, field: value}) != record_hash(**FIELDS)

    @pytest.mark.parametrize(
        "update",
        [
            {},
            {"occurred_at": datetime(2026, 3, 2, 14, 30, 5, tzinfo=UTC)},
            {"occurred_at": datetime(2026, 7, 4, 9, 30, 0, 1, tzinfo=timezone(timedelta(hours=-7)))},
            {"event_id": 'quote"back\\slash\n\u2028ü𝄞', "prev_hash": "</script>"},
            {"actor": {"sub": "x\x00y", "roles": []}, "payload": {}},
        ],
    )
    def test_the_document_is_canonical_json_of_the_whole_record(self, update: dict[str, object]) -> None:
        # RECORD_DOCUMENT's hand layout (and the SQL built from it) must stay canonical_json of the record
        record = {**FIELDS, **update}
        assert [name for name, _ in RECORD_DOCUMENT] == sorted(record)
        assert canonical_bytes(**record) == canonical_json(record).encode("utf-8")

    def test_refuses_a_bool_for_seq(self) -> None:
        with pytest.raises(InvalidInput):
            canonical_bytes(**{**FIELDS, "seq": True})

    def test_datetimes_nested_in_payload_are_rfc3339(self) -> None:
        payload = {"since": datetime(2026, 1, 1, tzinfo=UTC)}
        assert canonical_json(payload) == '{"since":"2026-01-01T00:00:00.000000Z"}'


class TestTimestamps:
    def test_utc_with_microseconds_even_when_zero(self) -> None:
        assert format_timestamp(datetime(2026, 3, 2, 14, 30, tzinfo=UTC)) == "2026-03-02T14:30:00.000000Z"

    def test_other_zones_are_converted_to_utc(self) -> None:
        pacific = datetime(2026, 7, 4, 23, 15, 0, 5, tzinfo=ZoneInfo("America/Los_Angeles"))
        assert format_timestamp(pacific) == "2026-07-05T06:15:00.000005Z"
        plus_one = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
        assert format_timestamp(plus_one) == "2026-01-01T00:00:00.000000Z"

    def test_same_instant_in_two_zones_hashes_the_same(self) -> None:
        moment = FIELDS["occurred_at"]
        local = {**FIELDS, "occurred_at": moment.astimezone(ZoneInfo("America/Los_Angeles"))}
        assert record_hash(**local) == record_hash(**FIELDS)

    def test_naive_datetime_is_refused(self) -> None:
        with pytest.raises(InvalidInput):
            format_timestamp(datetime(2026, 3, 2, 14, 30))


class TestLinking:
    def test_first_link_follows_genesis_and_next_follows_it(self) -> None:
        fields = {k: FIELDS[k] for k in ("event_id", "event_type", "occurred_at", "actor", "payload")}
        first = link_after(None, **fields)
        second = link_after(first, **fields)
        assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
        assert (second.seq, second.prev_hash) == (2, first.hash)
        assert first.recomputed_hash() == first.hash and second.recomputed_hash() == second.hash
        assert GENESIS_HASH == "0" * 64
