"""Rules of the stream witness: each record must be what the AUDIT message it was made from says.

A record after the last signed checkpoint can be rewritten, its hash and the following ones recomputed,
and the chain still holds; only the message it was made from, which the stream keeps, tells the rewrite.
Each retained message is prepared again exactly as the writer prepared it (services.audit.service), and
the stored record's type, time, actor and payload must equal what that gives.

Every record is made from a message: the writer stores nothing else (an escaped or `unreadable` record is
made from its message too, and prepared again here the same way). So a record in the range the read covers
that no retained message names was not written by the writer: appended in the database, hashes chained.
Records are not required to follow stream order: a batch redelivered after its writer stopped, or two
replicas' batches, are stored after records made from later messages. A record in that range that no message
read names is held against the EARLIER messages before the read too, before it is called added.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from libs.common.streams import AUDIT_WRITER
from services.audit.ledger.verify import FailureReason, StoredRecord, VerifyFailure
from services.audit.repository.stream import PAST_FLOOR, StreamMessage
from services.audit.service import PreparedEvent, prepare_events

# The writer takes a publish time from its consumer's metadata (nanoseconds through a float), the witness
# from the stream's message (nanoseconds cut to microseconds): the same instant may differ by a microsecond.
_PUBLISH_TIME_SLACK = timedelta(milliseconds=1)
# How far out of stream order a record may land (a stopped writer's batch redelivered, another replica's):
# the messages near the start of a read may have records after those of later messages, so only records
# from that of a message this far into the read on are held to having a message read.
REORDER = PAST_FLOOR
# How far before the read the message of a record in the judged range may lie. A writer that stops holding a
# batch leaves it unacknowledged for the ack wait while its peers store later messages; the batch is then
# redelivered and its records land after theirs, thousands of positions out of stream order. That reordering
# is bounded by the ack wait, not in messages; the consumer's max_ack_pending sizes the allowance (a peer
# storing 20,000 messages in 30 s), and a batch landing behind more still reads as added: fail closed. Read
# only when a record no message read names turns up, so a healthy read stays its few thousand messages.
EARLIER = AUDIT_WRITER.config.max_ack_pending or 20_000


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

    A record no retained message names is not judged here (judged_after says which must have one).
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


def judged_after(
    records: Sequence[StoredRecord], sent: Mapping[str, list[SentEvent]], *, after_seq: int, first_read: int
) -> int | None:
    """The seq after which every record must be made from a retained message read; None: the read judges none.

    `records` are those the read messages name, `first_read` the stream sequence the read began at (1: every
    message the stream ever held was read, so every record must have one).
    """
    if first_read <= 1:
        return after_seq
    inside = [r.seq for r in records if _first_sent(sent, r.event_id) >= first_read + REORDER]
    if not inside:
        return None  # the unsigned end is older than the messages read (see docs/audit.md, "Checking")
    return max(after_seq, min(inside) - 1)


def with_earlier(
    sent: Mapping[str, list[SentEvent]], earlier: Mapping[str, list[SentEvent]]
) -> dict[str, list[SentEvent]]:
    """The messages read and those read before them, by event id: a record equal to any of them stands."""
    merged = {event_id: list(candidates) for event_id, candidates in earlier.items()}
    for event_id, candidates in sent.items():
        merged.setdefault(event_id, []).extend(candidates)
    return merged


def made_from_no_message(seq: int, event_id: str, *, first_read: int) -> VerifyFailure:
    """A record no retained message read names, where every record must have one: not the writer's."""
    detail = (
        f"record of event {event_id} was made from no message the AUDIT stream holds (read from sequence "
        f"{first_read}): not written by the audit writer"
    )
    return VerifyFailure(seq, event_id, FailureReason.STREAM_MISMATCH, detail)


def _first_sent(sent: Mapping[str, list[SentEvent]], event_id: str) -> int:
    """The stream sequence of the first message naming the event (the one its record was made from); 0: none."""
    return min((c.stream_seq for c in sent.get(event_id, ())), default=0)


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
