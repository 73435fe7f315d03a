"""The gateway's NATS side: the audit trail it must write before returning data, and READS publishing."""

from __future__ import annotations

import asyncio
import hashlib

from opentelemetry import trace

from libs.common.batch_publish import Outgoing
from libs.common.bus import Bus
from libs.common.contracts.audit import AuditEvent, PersistedQuery, PersistedReply
from libs.common.contracts.reads import BUNDLE_HEADER, ReadIn
from libs.common.errors import AlprError, Unavailable
from libs.common.streams import audit_subject, reads_subject
from libs.common.telemetry import hot_path_span

tracer = trace.get_tracer("alpr.gateway")
# a bundle's size: the bus's and records' work per message is shared by up to this many reads, while a
# bundle stays far below the bus's message limit even with images
BUNDLE_READS = 50
BUNDLE_BYTES = 512 * 1024


class AuditTrail:
    """No record, no data: an access is returned only after its record is acked and persisted."""

    def __init__(self, bus: Bus, *, persist_wait_ms: int) -> None:
        self.bus = bus
        self.persist_wait_ms = persist_wait_ms

    async def record(self, event: AuditEvent) -> PersistedReply:
        """Publish to AUDIT, await the stream's ack, and the audit service's confirmation it is stored."""
        # asked for at once, so the audit service waits for the record while the stream acknowledges it;
        # both must answer before this returns, and a failed publish withdraws the question
        persisted = asyncio.create_task(
            self.bus.request(
                "alpr.audit.persisted",
                PersistedQuery(event_id=event.event_id, wait_ms=self.persist_wait_ms),
                PersistedReply,
                timeout=self.persist_wait_ms / 1000 + 1.0,
            )
        )
        try:
            await self.bus.publish_durable(
                audit_subject(event.event_type.value), event.model_dump_json().encode(), msg_id=event.event_id
            )
            return await persisted
        except AlprError as err:
            raise Unavailable(
                "the access could not be recorded, so no data is returned",
                code="audit_unavailable",
                cause=err.code,
            ) from err
        finally:
            if not persisted.done():
                persisted.cancel()
            elif not persisted.cancelled():
                persisted.exception()  # retrieved, so a failure after a failed publish is not logged as lost

    async def record_quietly(self, event: AuditEvent) -> None:
        """For refusals: the attempt is recorded when possible; the refusal stands either way."""
        try:
            await self.bus.publish_durable(
                audit_subject(event.event_type.value), event.model_dump_json().encode(), msg_id=event.event_id
            )
        except AlprError:
            pass


async def publish_reads(bus: Bus, reads: list[ReadIn]) -> int:
    """Hand every read to JetStream and wait for all acks; any failure means the post is not accepted.

    Returns how many reads the stream already held from an identical earlier post (a camera's resend).
    """
    messages = read_messages(reads)
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
