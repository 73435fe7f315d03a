"""The audit trail every service writes to: no record, no data; no record, no change.

An access is answered only after its record is acked by AUDIT and confirmed persisted by the audit
service. A change is committed only after its record is: the owner of the change opens the
transaction, writes the change, records it, and commits; a record that is not confirmed rolls the
change back, so a 503 means nothing changed.

A change's record says it was written before the commit (`details.recorded = "before_commit"`). When
the change is then not made, a record of the same type with `outcome = "not_committed"` follows, naming
the first (`details.record_of`) and why (`details.reason`): `record_unconfirmed` (the record may still
reach the log later, from the stream, while the change was rolled back) or `commit_failed` (the record
was confirmed and the commit raised). The window left: that follow-up is published without waiting
for its confirmation, so if the stream refuses it too, the first record stands alone; and a commit whose
connection dies mid-COMMIT may have committed after all (PostgreSQL, not this record, is then the truth).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.bus import Bus
from libs.common.contracts.audit import PERSISTED, AuditEvent, PersistedQuery, PersistedReply
from libs.common.db import UnitOfWork
from libs.common.errors import AlprError, Unavailable
from libs.common.streams import audit_subject

log = logging.getLogger(__name__)

# How long a caller waits for a recorded change. The owner's record takes at most the bus's publish
# retries (about 6.4 s) or the persisted wait plus 1 s; the caller waits longer, so it never answers
# 503 for a change that then commits. A change relayed through a second service waits one hop more.
CHANGE_TIMEOUT_S = 15.0
RELAYED_CHANGE_TIMEOUT_S = CHANGE_TIMEOUT_S + 5.0


class AuditTrail:
    """The one way onto AUDIT: publish an access record, and wait for the audit service's confirmation.

    Every service that records (the gateway, records and its purge job, sharing, audit itself, the CLI)
    goes through here, so "no record, no data" is decided in one place.
    """

    def __init__(self, bus: Bus, *, persist_wait_ms: int) -> None:
        self.bus = bus
        self.persist_wait_ms = persist_wait_ms

    async def publish(self, event: AuditEvent) -> None:
        """Publish to AUDIT and await the stream's ack (the event id deduplicates a republish); Unavailable if not."""
        await self.bus.publish_durable(
            audit_subject(event.event_type.value), event.model_dump_json().encode(), msg_id=event.event_id
        )

    async def persisted(self, event_id: str, *, wait_ms: int | None = None) -> PersistedReply:
        """The audit service's confirmation that the event is stored; Unavailable after `wait_ms` without it."""
        wait = self.persist_wait_ms if wait_ms is None else wait_ms
        return await self.bus.call(
            PERSISTED, PersistedQuery(event_id=event_id, wait_ms=wait), timeout=wait / 1000 + 1.0
        )

    async def record(self, event: AuditEvent) -> PersistedReply:
        """Publish to AUDIT, await the stream's ack, and the audit service's confirmation it is stored."""
        # asked for at once, so the audit service waits for the record while the stream acknowledges it;
        # both must answer before this returns, and a failed publish withdraws the question
        persisted = asyncio.create_task(self.persisted(event.event_id))
        try:
            await self.publish(event)
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
            await self.publish(event)
        except AlprError:
            pass


class RecordedChange:
    """A change in progress: its session, and the record it will be committed with."""

    def __init__(self, session: AsyncSession, template: AuditEvent | None) -> None:
        self.session = session
        self.event = template

    def record(self, event: AuditEvent) -> None:
        """Name the change's whole record, for an owner that builds it itself."""
        self.event = event

    def complete(self, **fields: Any) -> None:
        """Add what the change produced (ids, counts, status) to its record; `details` are merged."""
        if self.event is None:
            return
        details = {**self.event.details, **fields.pop("details", {})}
        self.event = self.event.model_copy(update={**fields, "details": details})


class ChangeRecorder:
    """The unit of work of a recorded change: it commits only once the change's record is persisted."""

    def __init__(self, uow: UnitOfWork, trail: AuditTrail) -> None:
        self.uow = uow
        self.trail = trail

    @asynccontextmanager
    async def __call__(self, template: AuditEvent | None = None) -> AsyncIterator[RecordedChange]:
        """Open the change's transaction; `template` is its record, or set later with `record`.

        A change left with no record commits unrecorded: only callers inside the system (tests, seeding)
        send a request without one; every gateway route sends one.
        """
        published: AuditEvent | None = None  # the record, once its publication was attempted
        confirmed = False
        try:
            async with self.uow() as session:
                change = RecordedChange(session, template)
                yield change
                if change.event is not None:
                    published = change.event.model_copy(
                        update={"details": {**change.event.details, "recorded": "before_commit"}}
                    )
                    try:
                        await self.trail.record(published)
                    except Unavailable as err:
                        raise Unavailable(
                            "the change could not be recorded, so it was not made",
                            code="audit_unavailable",
                            cause=err.details.get("cause", err.code),
                        ) from err
                    confirmed = True
        except Exception as exc:
            # rolled back, its locks released; its record may be in the log (or reach it from the stream)
            if published is not None:
                if confirmed:
                    log.error("a recorded change failed to commit (record %s): %s", published.event_id, exc)
                    follow_up = not_committed(published, "commit_failed", error=type(exc).__name__)
                else:
                    follow_up = not_committed(published, "record_unconfirmed")
                await self.trail.record_quietly(follow_up)
            raise


def not_committed(event: AuditEvent, reason: str, **details: str) -> AuditEvent:
    """The record that follows a change's record when the change was then not committed."""
    return AuditEvent(
        event_type=event.event_type,
        actor=event.actor,
        purpose=event.purpose,
        client_address=event.client_address,
        query=event.query,
        outcome="not_committed",
        details={"record_of": event.event_id, "reason": reason, **details},
    )
