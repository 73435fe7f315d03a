"""The gateway's NATS side: the audit trail it must write before returning data, and READS publishing."""

from __future__ import annotations

import asyncio

from opentelemetry import trace

from libs.common.batch_publish import Outgoing
from libs.common.bus import Bus
from libs.common.contracts.audit import AuditEvent, PersistedQuery, PersistedReply
from libs.common.contracts.reads import ReadIn
from libs.common.errors import AlprError, Unavailable
from libs.common.streams import audit_subject, reads_subject

tracer = trace.get_tracer("alpr.gateway")


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
    """Hand every read to JetStream and wait for all acks; any failure means the post is not accepted."""
    with tracer.start_as_current_span(
        "publish READS", kind=trace.SpanKind.PRODUCER, attributes={"messaging.batch.message_count": len(reads)}
    ):
        try:
            return await bus.publish_durable_many(
                [Outgoing(reads_subject(r.agency, r.camera_id), r.model_dump_json().encode(), r.read_id) for r in reads]
            )
        except Unavailable as exc:
            raise Unavailable("the read stream did not acknowledge; retry", code="bus_unavailable") from exc
