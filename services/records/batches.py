"""A fetched batch of READS messages: its reads, each with its message, and what records cannot store."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from nats.aio.msg import Msg

from libs.common.bus import Bus
from libs.common.contracts.reads import BUNDLE_HEADER, ReadBundle, ReadIn
from libs.common.deadletter import dead_letter, error_text
from libs.common.errors import MalformedPayload
from libs.common.streams import RECORDS_READS
from libs.common.validation import load_json


@dataclass
class Reject:
    """A READS message, or one read of a bundle, that records cannot store: kept in DEADLETTER with why."""

    msg: Msg
    body: bytes
    error: str
    part: str = ""

    @classmethod
    def of_read(cls, msg: Msg, read: ReadIn, error: str) -> Reject:
        """One read alone, so the rest of its bundle is not replayed with it."""
        if msg.headers and BUNDLE_HEADER in msg.headers:
            body = json.dumps(read.model_dump(mode="json"), ensure_ascii=True).encode()
            # a hash, not the id itself: the id comes from the message and may hold anything
            return cls(msg, body, error, part=hashlib.sha256(read.read_id.encode(errors="replace")).hexdigest()[:16])
        return cls(msg, msg.data, error)

    async def dead_letter(self, bus: Bus) -> None:
        meta = self.msg.metadata
        headers = dict(self.msg.headers or {})
        if self.part:
            headers.pop(BUNDLE_HEADER, None)
        await dead_letter(
            bus,
            stream=meta.stream,
            durable=RECORDS_READS.config.durable_name or "",
            subject=self.msg.subject,
            sequence=meta.sequence.stream,
            deliveries=meta.num_delivered,
            error=self.error,
            body=self.body,
            headers=headers,
            part=self.part,
        )


@dataclass
class Parsed:
    """A batch's reads, each with the message it came in, and what could not be read."""

    reads: list[tuple[ReadIn, Msg]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


def parse_batch(msgs: list[Msg]) -> Parsed:
    """The reads of a batch, each with its message; what is not a read is set aside, not dropped."""
    parsed = Parsed()
    for msg in msgs:
        try:
            if msg.headers and BUNDLE_HEADER in msg.headers:
                reads = ReadBundle.model_validate_json(msg.data).reads
            else:
                reads = [ReadIn.model_validate_json(msg.data)]
        except ValueError as exc:
            _parse_alone(msg, exc, parsed)
            continue
        parsed.reads += [(read, msg) for read in reads]
    return parsed


def _parse_alone(msg: Msg, error: ValueError, parsed: Parsed) -> None:
    """A message that did not parse whole: a bundle's good reads still go through, one at a time."""
    items = None
    if msg.headers and BUNDLE_HEADER in msg.headers:
        try:
            items = load_json(msg.data).get("reads")
        except (MalformedPayload, AttributeError):
            items = None
    if not isinstance(items, list):
        parsed.rejects.append(Reject(msg, msg.data, error_text(error)))
        return
    for index, item in enumerate(items):
        try:
            parsed.reads.append((ReadIn.model_validate(item), msg))
        except ValueError as exc:
            # kept as a lone read: a replay republishes it on its own
            body = json.dumps(item, ensure_ascii=True).encode()
            parsed.rejects.append(Reject(msg, body, error_text(exc), part=str(index)))
