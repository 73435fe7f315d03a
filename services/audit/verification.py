"""`alpr audit verify`: stream the whole log and its checkpoints from the database through verify_records."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import nats
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.js.client import JetStreamContext
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.db import UnitOfWork, create_engine
from libs.common.errors import Unavailable
from libs.common.tasks import cancelled
from services.audit import repository
from services.audit.ledger.verify import FailureReason, RecordDocument, VerifyFailure, VerifyReport, verify_records
from services.audit.repository.stream import PAST_FLOOR, acknowledged_events, messages_before
from services.audit.settings import AuditSettings
from services.audit.witness import (
    EARLIER,
    first_difference,
    judged_after,
    made_from_no_message,
    sent_events,
    with_earlier,
)

_CHUNK = 20_000
_AHEAD = 2  # chunks read ahead of the hashing thread


async def verify_session(
    session: AsyncSession,
    public_keys: Sequence[Ed25519PublicKey],
    *,
    witness: JetStreamContext | None = None,
    second: AsyncSession | None = None,
) -> dict[str, Any]:
    """Verify the log a session sees, then (given the bus) hold its end against the AUDIT stream.

    A thread hashes one chunk while the next ones are read from the database, on `second` as well
    when given (two connections keep verification above 100,000 records a second).
    """
    checkpoints = await repository.list_checkpoints(session)
    loop = asyncio.get_running_loop()
    ahead: asyncio.Queue[list[RecordDocument] | None] = asyncio.Queue(maxsize=_AHEAD)

    failed: list[BaseException] = []

    async def read() -> None:
        try:
            sessions = [session] if second is None else [session, second]
            async for chunk in repository.iter_record_chunks(sessions, chunk=_CHUNK):
                await ahead.put(chunk)
        except Exception as exc:
            failed.append(exc)  # raised below, once the hashing thread has been told the log ended
        await ahead.put(None)

    def records() -> Iterator[RecordDocument]:
        while (chunk := asyncio.run_coroutine_threadsafe(ahead.get(), loop).result()) is not None:
            yield from chunk

    reader = asyncio.create_task(read())
    try:
        report = await asyncio.to_thread(verify_records, records(), checkpoints, list(public_keys))
    finally:
        await cancelled(reader)
    if failed:
        raise failed[0]
    stream_checked, stream_error = None, None
    if witness is not None and report.ok:
        try:
            report, stream_checked = await _hold_end_against_stream(session, witness, report)
        except Exception as exc:  # the bus or the stream is down: say the end went unchecked, and why
            stream_error = f"the AUDIT stream could not be read ({type(exc).__name__}: {exc})"
    metrics.AUDIT_VERIFY_OK.set(1 if report.ok else 0)
    return report_dict(report, stream_checked=stream_checked, stream_error=stream_error)


async def _hold_end_against_stream(
    session: AsyncSession, witness: JetStreamContext, report: VerifyReport
) -> tuple[VerifyReport, int]:
    """Fail the report if an event the writer acknowledged is not in the log, or not as the stream holds it."""
    failure, checked = await hold_against_stream(session, witness, log_end=report.records_checked)
    if failure is not None:
        report = dataclasses.replace(report, ok=False, first_failure=failure)
    return report, checked


async def hold_against_stream(
    session: AsyncSession,
    witness: JetStreamContext,
    *,
    log_end: int,
    after_seq: int = 0,
    past_floor: int = PAST_FLOOR,
) -> tuple[VerifyFailure | None, int]:
    """The first place the log departs from the AUDIT stream's retained messages, and how many were acknowledged.

    An acknowledged event missing from the log means records were cut after `log_end`; a record (seq in
    (`after_seq`, `log_end`]) that differs from the message it was made from was rewritten, and one made from
    no message read, in the range the read covers, nor by one of the EARLIER messages before the read, was added
    (services.audit.witness). `past_floor` messages
    beyond the writer's acknowledgement floor are read too: records committed but not yet acknowledged.
    `log_end` must have been read before this call, so every record up to it was made from a message
    already delivered. Unavailable when the read did not reach every delivered message (nothing is said
    then of records no message read names), as when the stream cannot be read.
    """
    acknowledged = await acknowledged_events(witness, past_floor=past_floor)
    stored = await repository.existing_event_ids(session, event_ids=list(acknowledged.event_ids))
    missing = sorted((seq, event_id) for event_id, seq in acknowledged.event_ids.items() if event_id not in stored)
    if missing:
        stream_seq, event_id = missing[0]
        detail = (
            f"event {event_id}, acknowledged by the audit writer at AUDIT stream sequence {stream_seq}, "
            f"is not in the log: records were cut after seq {log_end}"
        )
        return VerifyFailure(log_end + 1, event_id, FailureReason.MISSING_RECORD, detail), len(acknowledged.event_ids)
    # preparing a few thousand events again is CPU work: kept off the event loop
    sent = await asyncio.to_thread(sent_events, acknowledged.messages)
    named = await repository.records_made_from(session, event_ids=list(sent))
    failures = [first_difference([r for r in named if after_seq < r.seq <= log_end], sent)]
    first_judged = judged_after(named, sent, after_seq=after_seq, first_read=acknowledged.first_read)
    if first_judged is not None and acknowledged.reached_delivered:
        first_read = acknowledged.first_read
        found = await repository.first_record_not_named(
            session, event_ids=list(sent), after_seq=first_judged, upto_seq=log_end
        )
        if found is not None:
            # maybe not added: a batch redelivered after its writer stopped is stored after records of later
            # messages, up to the consumer's max_ack_pending of them; read that far back before judging
            first_read, earlier = await messages_before(witness, first_read, count=EARLIER)
            sent = with_earlier(sent, await asyncio.to_thread(sent_events, earlier))
            named = await repository.records_made_from(session, event_ids=list(sent))
            failures = [first_difference([r for r in named if after_seq < r.seq <= log_end], sent)]
            found = await repository.first_record_not_named(
                session, event_ids=list(sent), after_seq=first_judged, upto_seq=log_end
            )
        if found is not None:
            failures.append(made_from_no_message(*found, first_read=first_read))
    failure = min((f for f in failures if f is not None), key=lambda f: f.seq, default=None)
    if failure is None and first_judged is not None and not acknowledged.reached_delivered:
        raise Unavailable(
            f"more than {past_floor} AUDIT messages are delivered but not acknowledged: the records made from "
            "them could not all be read back, so records no message names were not judged",
            code="audit_stream_behind",
        )
    return failure, len(acknowledged.event_ids)


def report_dict(
    report: VerifyReport, *, stream_checked: int | None = None, stream_error: str | None = None
) -> dict[str, Any]:
    """The report as the CLI prints it and the API returns it.

    stream_events_checked None: the end of the log was not held against the stream (not asked, or the
    stream could not be read: stream_error says why; `ok` then covers the chain and checkpoints only).
    """
    failure = dataclasses.asdict(report.first_failure) if report.first_failure else None
    if failure is not None:
        failure["reason"] = str(failure["reason"])
    return {
        "ok": report.ok,
        "records_checked": report.records_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "first_failure": failure,
        "stream_events_checked": stream_checked,
        "stream_error": stream_error,
    }


async def verify_database(
    database_url: str,
    *,
    public_keys: Sequence[Ed25519PublicKey] | None = None,
    schema: str = "audit",
    nats_url: str | None = None,
    nats_user: str | None = None,
    nats_password: str | None = None,
) -> dict[str, Any]:
    """Check the whole chain and every signed checkpoint; keys from ALPR_AUDIT_* settings when not given.

    With `nats_url`, the end of the log is also held against the AUDIT stream (services.audit.repository.stream),
    as `nats_user` (the audit user in the deployment, whose permissions the witness needs).
    """
    if public_keys is None:
        public_keys = AuditSettings(database_url=database_url).verification_keys()  # type: ignore[arg-type]
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url, schema=schema, pool_size=2)
    # one attempt, not Bus.connect's reconnect-forever: a refused login or an unreachable bus must
    # end the command with an error, not keep it waiting
    nc = (
        await nats.connect(
            nats_url,
            name="alpr-audit-verify",
            user=nats_user,
            password=nats_password,
            allow_reconnect=False,
            connect_timeout=5,
        )
        if nats_url
        else None
    )
    try:
        uow = UnitOfWork(engine)
        async with uow() as session, uow() as second:
            return await verify_session(session, public_keys, witness=nc.jetstream() if nc else None, second=second)
    finally:
        if nc is not None:
            await nc.close()
        await engine.dispose()
