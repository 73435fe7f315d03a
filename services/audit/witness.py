"""The AUDIT stream as a witness to the log's end: what the writer acknowledged must be in the log.

Signed checkpoints cover the log up to their size; records written after the last checkpoint could be cut
off the end without breaking the chain. The writer acknowledges a stream message only after its record
is committed, so every message up to the writer's acknowledgement floor names an event the log must
hold. The stream keeps its messages for 30 days, far longer than a checkpoint interval.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from libs.common.streams import AUDIT_WRITER

WINDOW = 5_000  # messages checked back from the floor: several checkpoint intervals (every 1,000 records)


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """The events the writer acknowledged in the last `window` messages up to its floor."""

    ack_floor: int  # stream sequence
    event_ids: dict[str, int]  # event id -> stream sequence


async def acknowledged_events(js: JetStreamContext, *, window: int = WINDOW) -> Acknowledged:
    """Read the last `window` acknowledged messages of AUDIT with a short-lived consumer of our own."""
    info = await js.consumer_info(AUDIT_WRITER.stream, AUDIT_WRITER.config.durable_name or "")
    floor = info.ack_floor.stream_seq if info.ack_floor else 0
    stream = await js.stream_info(AUDIT_WRITER.stream)
    start = max(floor - window + 1, stream.state.first_seq, 1)
    found: dict[str, int] = {}
    if floor < start:
        return Acknowledged(floor, found)
    # named, not durable: it lapses 30 s after use, so the audit user needs no DELETE grant on AUDIT
    name = f"audit-verify-{uuid.uuid4().hex[:12]}"
    await js.add_consumer(
        AUDIT_WRITER.stream,
        ConsumerConfig(
            name=name,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            inactive_threshold=30.0,
        ),
    )
    sub = await js.pull_subscribe_bind(consumer=name, stream=AUDIT_WRITER.stream)
    try:
        while True:
            try:
                msgs = await sub.fetch(500, timeout=2.0)
            except NatsTimeout:
                break
            for msg in msgs:
                seq = msg.metadata.sequence.stream
                if seq > floor:
                    return Acknowledged(floor, found)
                event_id = _event_id(msg.data)
                if event_id:
                    found[event_id] = seq
            if msgs[-1].metadata.sequence.stream >= floor:
                break
    finally:
        await sub.unsubscribe()
    return Acknowledged(floor, found)


def _event_id(data: bytes) -> str:
    """The event id of a message; empty for one that is not an event (the writer refuses those)."""
    try:
        return str(json.loads(data)["event_id"])
    except (ValueError, KeyError, TypeError):
        return ""
