"""Rules of the stream witness: each record must be what the AUDIT message it was made from says.

A record after the last signed checkpoint can be rewritten, its hash and the following ones recomputed,
and the chain still holds; only the message it was made from, which the stream keeps, tells the rewrite.
Each retained message is prepared again exactly as the writer prepared it (services.audit.service), and
the stored record's type, time, actor and payload must equal what that gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from services.audit.ledger.verify import FailureReason, StoredRecord, VerifyFailure
from services.audit.repository.stream import StreamMessage
from services.audit.service import PreparedEvent, prepare_events

# The writer takes a publish time from its consumer's metadata (nanoseconds through a float), the witness
# from the stream's message (nanoseconds cut to microseconds): the same instant may differ by a microsecond.
_PUBLISH_TIME_SLACK = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class SentEvent:
    """A retained message prepared as the writer prepared it."""

    stream_seq: int
    event: PreparedEvent
    time_from_stream: bool  # occurred_at is the publish time (an unreadable body, or a time no UTC year holds)


def sent_events(messages: Iterable[StreamMessage]) -> dict[str, list[SentEvent]]:
    """Each retained message as the record it must have given, by the event id the writer stored it under.

    An event published again under the same id is stored once, from the first; all are kept here, so a
    record that equals any of them stands.
    """
    found: dict[str, list[SentEvent]] = {}
    for message in messages:
        (event,) = prepare_events([message.data], [(message.seq, message.published)])
        sent = SentEvent(message.seq, event, event.occurred_at is message.published)
        found.setdefault(event.event_id, []).append(sent)
    return found


def first_difference(records: Sequence[StoredRecord], sent: Mapping[str, list[SentEvent]]) -> VerifyFailure | None:
    """The first record (by seq) that differs from every retained message naming its event id; None if all match.

    A record no retained message names is not judged here (aged out of the stream, or past the window).
    """
    for record in sorted(records, key=lambda r: r.seq):
        candidates = sent.get(record.event_id)
        if not candidates or any(_same(record, candidate) for candidate in candidates):
            continue
        fields = _differing(record, candidates[0])
        detail = (
            f"record of event {record.event_id} differs in {', '.join(fields)} from the event the AUDIT stream "
            f"holds at sequence {candidates[0].stream_seq}: rewritten after it was stored"
        )
        return VerifyFailure(record.seq, record.event_id, FailureReason.STREAM_MISMATCH, detail)
    return None


def _same(record: StoredRecord, sent: SentEvent) -> bool:
    return not _differing(record, sent)


def _differing(record: StoredRecord, sent: SentEvent) -> list[str]:
    """The names of the record's fields that are not what the message gives."""
    event = sent.event
    fields = []
    if record.event_type != event.event_type:
        fields.append("event_type")
    if sent.time_from_stream:
        if abs(record.occurred_at - event.occurred_at) > _PUBLISH_TIME_SLACK:
            fields.append("occurred_at")
    elif record.occurred_at != event.occurred_at:
        fields.append("occurred_at")
    if record.actor != event.actor:
        fields.append("actor")
    if record.payload != event.payload:
        fields.append("payload")
    return fields
