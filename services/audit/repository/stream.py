"""The AUDIT stream as a witness to the log's end and content: what the writer acknowledged must be in the log, as sent.

Signed checkpoints cover the log up to their size; records written after the last checkpoint could be cut
off the end, or rewritten with their hashes recomputed, without breaking the chain. The writer acknowledges a
stream message only after its record is committed, so every message up to the writer's acknowledgement floor
names an event the log must hold, and every retained message is what its record was made from. The stream
keeps its messages for 30 days, far longer than a checkpoint interval.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime

from nats.js.api import RawStreamMsg
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from libs.common.streams import AUDIT_WRITER
from services.audit.ledger.escaping import sent_event_id

WINDOW = 5_000  # messages checked back from the floor: several checkpoint intervals (every 1,000 records)
# Messages past the acknowledgement floor also read: records committed but not yet acknowledged (the batch in
# hand and the one prefetched, or those of a writer that stopped between its commit and its ack).
PAST_FLOOR = 2_000
_IN_FLIGHT = 200


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One retained AUDIT message: its stream sequence, publish time and body, as the writer was given them."""

    seq: int
    published: datetime
    data: bytes


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The events the writer acknowledged in the last `window` messages up to its floor, and the messages read."""

    ack_floor: int  # stream sequence
    event_ids: dict[str, int]  # event id -> stream sequence, acknowledged messages only
    # every message read, in stream order: the acknowledged ones and, when asked, some past the floor
    # (stored but not yet acknowledged when a writer stopped between its commit and its ack)
    messages: tuple[StreamMessage, ...] = ()
    first_read: int = 1  # the stream sequence the read began at: 1 when no message was ever left unread
    # whether the read reached the last message delivered to any writer: every record committed before
    # the read was made from a message read, or from one older than `first_read`
    reached_delivered: bool = True


async def acknowledged_events(js: JetStreamContext, *, window: int = WINDOW, past_floor: int = 0) -> Acknowledged:
    """Read the last `window` acknowledged messages of AUDIT by sequence (and `past_floor` more), 200 in flight.

    Message GETs, not a consumer of our own: the audit user then needs no right to create consumers on
    AUDIT, a right that would also let it reconfigure `audit-writer`.
    """
    info = await js.consumer_info(AUDIT_WRITER.stream, AUDIT_WRITER.config.durable_name or "")
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    stream = await js.stream_info(AUDIT_WRITER.stream)
    start = max(floor - window + 1, stream.state.first_seq, 1)
    end = min(floor + past_floor, stream.state.last_seq) if past_floor > 0 else floor
    delivered = info.delivered.stream_seq if info.delivered and info.delivered.stream_seq else 0
    found: dict[str, int] = {}
    messages: list[StreamMessage] = []
    for seq, msg in await _read(js, start, end):
        data = msg.data or b""  # the client gives None for an empty body: the writer stored it unreadable
        if msg.time is not None:
            messages.append(StreamMessage(seq, msg.time, data))
        event_id = _event_id(data)
        if event_id and seq <= floor:
            found[event_id] = seq
    return Acknowledged(floor, found, tuple(messages), first_read=start, reached_delivered=end >= delivered)


async def messages_before(js: JetStreamContext, first_read: int, *, count: int) -> tuple[int, list[StreamMessage]]:
    """The `count` retained messages before `first_read` (fewer where the stream begins later), and the first read.

    Read only when a record no message from `first_read` on names turns up: the records of a batch redelivered
    after its writer stopped land after those of later messages (services.audit.witness, EARLIER).
    """
    stream = await js.stream_info(AUDIT_WRITER.stream)
    start = max(first_read - count, stream.state.first_seq, 1)
    read = await _read(js, start, first_read - 1)
    return start, [StreamMessage(seq, msg.time, msg.data or b"") for seq, msg in read if msg.time is not None]


async def _read(js: JetStreamContext, start: int, end: int) -> list[tuple[int, RawStreamMsg]]:
    """The retained messages of sequence start..end with their sequences, in stream order, 200 in flight."""
    read: list[tuple[int, RawStreamMsg]] = []
    for first in range(start, end + 1, _IN_FLIGHT):
        sequences = range(first, min(first + _IN_FLIGHT, end + 1))
        got = await asyncio.gather(*(_message(js, seq) for seq in sequences))
        read.extend((seq, msg) for seq, msg in zip(sequences, got, strict=True) if msg is not None)
    return read


async def _message(js: JetStreamContext, seq: int) -> RawStreamMsg | None:
    """A message; None where the stream no longer holds it (aged out)."""
    try:
        return await js.get_msg(AUDIT_WRITER.stream, seq)
    except NotFoundError:
        return None


def _event_id(data: bytes) -> str:
    """The event id of a message as the writer stores it; empty for a body that names none."""
    try:
        return sent_event_id(json.loads(data.decode("utf-8", "surrogateescape"))) or ""
    except (ValueError, RecursionError):
        return ""
