"""The gateway's READS publishing: reads bundled per camera subject and handed to JetStream, every ack awaited."""

from __future__ import annotations

import hashlib

from opentelemetry import trace

from libs.common.batch_publish import Outgoing
from libs.common.bus import Bus
from libs.common.contracts.reads import BUNDLE_HEADER, ReadIn
from libs.common.errors import PayloadTooLarge, Unavailable
from libs.common.streams import reads_subject
from libs.common.telemetry import hot_path_span

tracer = trace.get_tracer("alpr.gateway")
# a bundle's size: the bus's and records' work per message is shared by up to this many reads, while a
# bundle stays far below the bus's message limit even with images
BUNDLE_READS = 50
BUNDLE_BYTES = 512 * 1024
# room left in a message for its headers (trace context, message id, bundle count), which count too
HEADER_ROOM = 4096


async def publish_reads(bus: Bus, reads: list[ReadIn]) -> int:
    """Hand every read to JetStream and wait for all acks; any failure means the post is not accepted.

    Returns how many reads the stream already held from an identical earlier post (a camera's resend).
    """
    messages = read_messages(reads)
    limit = bus.nc.max_payload - HEADER_ROOM
    if any(len(m.payload) > limit for m in messages):
        # a read the bus cannot carry would be refused on every retry: 413 now, never 503 forever
        raise PayloadTooLarge(f"a read exceeds the bus's {limit} bytes", code="read_too_large", limit=limit)
    with hot_path_span(
        tracer,
        "publish READS",
        kind=trace.SpanKind.PRODUCER,
        attributes={"messaging.batch.message_count": len(messages)},
    ):
        try:
            return await bus.publish_durable_many(messages)
        except Unavailable as exc:
            raise Unavailable("the read stream did not acknowledge; retry", code="bus_unavailable") from exc


def read_messages(reads: list[ReadIn]) -> list[Outgoing]:
    """A lone read as itself, deduplicated by its read id; a batch's reads in bundles per camera subject.

    A bundle is deduplicated by the ids it holds, so a post resent whole is stored once by JetStream;
    records stores each read once by its id whatever bundle brings it.
    """
    bodies: dict[str, list[tuple[str, bytes]]] = {}
    for r in reads:
        bodies.setdefault(reads_subject(r.agency, r.camera_id), []).append((r.read_id, r.model_dump_json().encode()))
    messages = []
    for subject, group in bodies.items():
        start = 0
        while start < len(group):
            end, size = start, 0
            while end < len(group) and end - start < BUNDLE_READS:
                if end > start and size + len(group[end][1]) > BUNDLE_BYTES:
                    break
                size += len(group[end][1])
                end += 1
            messages.append(_message(subject, group[start:end]))
            start = end
    return messages


def _message(subject: str, bundle: list[tuple[str, bytes]]) -> Outgoing:
    if len(bundle) == 1:
        read_id, body = bundle[0]
        return Outgoing(subject, body, read_id)
    ids = "\n".join(read_id for read_id, _ in bundle)
    payload = b'{"reads":[' + b",".join(body for _, body in bundle) + b"]}"
    msg_id = "bundle-" + hashlib.sha256(ids.encode()).hexdigest()[:40]
    return Outgoing(subject, payload, msg_id, headers={BUNDLE_HEADER: str(len(bundle))}, count=len(bundle))
