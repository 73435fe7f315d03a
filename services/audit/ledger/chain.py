"""The hash chain of access records: canonical encoding and the hash that links each record."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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


def _document(
    seq: int,
    event_id: str,
    event_type: str,
    occurred_at: datetime,
    actor: Mapping[str, Any] | str,
    payload: Mapping[str, Any] | str,
    prev_hash: str,
) -> bytes:
    """The canonical bytes, positional for the verification loop."""
    if type(seq) is not int:
        raise InvalidInput("seq must be an integer", seq=repr(seq))
    # Stored text is hashed as it is, so the bytes an auditor is shown are the bytes that were chained.
    actor_json = actor if isinstance(actor, str) else _ENCODER.encode(actor)
    payload_json = payload if isinstance(payload, str) else _ENCODER.encode(payload)
    if occurred_at.tzinfo is UTC and occurred_at.microsecond:
        # format_timestamp's common case inlined: this runs once per record in verification.
        occurred = occurred_at.isoformat()[:26] + "Z"
    else:
        occurred = format_timestamp(occurred_at)
    # The top-level keys are fixed, so they are laid out in sorted order by hand instead of sorted per call.
    return (
        f'{{"actor":{actor_json},"event_id":{_quote(str(event_id))},"event_type":{_quote(event_type)},'
        f'"occurred_at":"{occurred}","payload":{payload_json},'
        f'"prev_hash":{_quote(prev_hash)},"seq":{seq}}}'
    ).encode()


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
