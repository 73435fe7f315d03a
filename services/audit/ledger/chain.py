"""The hash chain of access records: canonical encoding and the hash that links each record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from libs.common.errors import InvalidInput

GENESIS_HASH = "0" * 64

_ZERO = timedelta(0)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the only datetime form that enters a hash."""
    if moment.tzinfo is UTC:
        # The common case (database rows come back in UTC), kept cheap for verification speed:
        # isoformat() without arguments is twice as fast but drops a zero microsecond part.
        text = moment.isoformat()
        return text[:26] + "Z" if moment.microsecond else text[:19] + ".000000Z"
    offset = moment.utcoffset()
    if offset is None:
        # A naive datetime means different instants on different hosts; refuse rather than guess.
        raise InvalidInput("naive datetime in an access record", value=str(moment))
    if offset != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _jsonable(value: Any) -> Any:
    """The canonical form of values JSON has no type for."""
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise InvalidInput(f"cannot encode {type(value).__name__} in an access record")


# Built once: json.dumps with options builds a new encoder per call, which costs verify speed.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False,
    check_circular=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
    default=_jsonable,
)
_quote = json.encoder.encode_basestring


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, datetimes as RFC 3339 UTC; store this text."""
    return _ENCODER.encode(value)


class FieldKind(StrEnum):
    """How a top-level field of the record's document is written."""

    JSON = "json"  # canonical JSON text as stored (actor, payload), laid in as it is
    STRING = "string"  # a JSON string
    INSTANT = "instant"  # a JSON string holding format_timestamp's form
    INTEGER = "integer"  # a JSON number


# The one definition of the document a record's hash is taken over: canonical_json of these fields, in
# this (sorted) order, with actor and payload as the canonical JSON text stored for them. The writer's
# encoder below and the SQL that lays the same bytes out for verification (repository.chain) are both
# built from this table.
RECORD_DOCUMENT: tuple[tuple[str, FieldKind], ...] = (
    ("actor", FieldKind.JSON),
    ("event_id", FieldKind.STRING),
    ("event_type", FieldKind.STRING),
    ("occurred_at", FieldKind.INSTANT),
    ("payload", FieldKind.JSON),
    ("prev_hash", FieldKind.STRING),
    ("seq", FieldKind.INTEGER),
)
assert [name for name, _ in RECORD_DOCUMENT] == sorted(name for name, _ in RECORD_DOCUMENT), "canonical order"


def _json_field(value: Mapping[str, Any] | str) -> str:
    # stored text is hashed as it is, so the bytes an auditor is shown are the bytes that were chained
    return value if isinstance(value, str) else _ENCODER.encode(value)


def _string_field(value: str) -> str:
    return _quote(str(value))


def _instant_field(value: datetime) -> str:
    if value.tzinfo is UTC and value.microsecond:
        # format_timestamp's common case inlined: this runs once per record the writer chains
        return '"' + value.isoformat()[:26] + 'Z"'
    return '"' + format_timestamp(value) + '"'


def _integer_field(value: int) -> str:
    if type(value) is not int:
        raise InvalidInput("seq must be an integer", seq=repr(value))
    return str(value)


_FIELD_ENCODERS: dict[FieldKind, Callable[[Any], str]] = {
    FieldKind.JSON: _json_field,
    FieldKind.STRING: _string_field,
    FieldKind.INSTANT: _instant_field,
    FieldKind.INTEGER: _integer_field,
}
# the keys are fixed, so they are laid out once here instead of sorted and quoted per record
_LAYOUT = tuple(
    (("{" if n == 0 else ",") + _quote(name) + ":", _FIELD_ENCODERS[kind], name)
    for n, (name, kind) in enumerate(RECORD_DOCUMENT)
)


def _document(
    seq: int,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    actor: Mapping[str, Any] | str,
    payload: Mapping[str, Any] | str,
    prev_hash: str,
) -> bytes:
    """The canonical bytes of RECORD_DOCUMENT, positional for the writer's loop."""
    fields = {
        "actor": actor,
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "payload": payload,
        "prev_hash": prev_hash,
        "seq": seq,
    }
    return ("".join(key + encode(fields[name]) for key, encode, name in _LAYOUT) + "}").encode()


def canonical_bytes(
    *,
    seq: int,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    actor: Mapping[str, Any] | str,
    payload: Mapping[str, Any] | str,
    prev_hash: str,
) -> bytes:
    """The UTF-8 bytes a record's hash is taken over; actor and payload as mappings or stored JSON text."""
    return _document(seq, event_id, event_type, occurred_at, actor, payload, prev_hash)


def record_hash(
    *,
    seq: int,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    actor: Mapping[str, Any] | str,
    payload: Mapping[str, Any] | str,
    prev_hash: str,
) -> str:
    """SHA-256 hex of the record's canonical bytes."""
    encoded = _document(seq, event_id, event_type, occurred_at, actor, payload, prev_hash)
    return hashlib.sha256(encoded).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One access record as stored: its fields, the previous record's hash and its own.

    actor and payload are mappings, or the JSON text stored for them (the fast path for verification).
    """

    seq: int
    event_id: str
    event_type: str
    occurred_at: datetime
    actor: Mapping[str, Any] | str
    payload: Mapping[str, Any] | str
    prev_hash: str
    hash: str

    def digest(self) -> bytes:
        """The SHA-256 the record's fields give now (raw bytes), to compare with the stored hash."""
        encoded = _document(
            self.seq,
            self.event_id,
            self.event_type,
            self.occurred_at,
            self.actor,
            self.payload,
            self.prev_hash,
        )
        return hashlib.sha256(encoded).digest()

    def recomputed_hash(self) -> str:
        """The hash the record's fields give now (hex), to compare with the stored one."""
        return self.digest().hex()


def link_after(
    previous: ChainLink | None,
    *,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    actor: Mapping[str, Any] | str,
    payload: Mapping[str, Any] | str,
) -> ChainLink:
    """The next record of the chain, numbered and hashed after `previous` (None: the first)."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS_HASH if previous is None else previous.hash
    digest = record_hash(
        seq=seq,
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        actor=actor,
        payload=payload,
        prev_hash=prev_hash,
    )
    return ChainLink(seq, str(event_id), event_type, occurred_at, actor, payload, prev_hash, digest)
