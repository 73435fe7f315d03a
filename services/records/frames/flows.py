"""The frames flow: FRAMES photographs → the recognizer finds and reads their plates → stored as reads, with
each frame's outcome in the same transaction; acked only after that commit (by the consumer).

A frame the recognizer refuses (undecodable, too large) is stored as `failed` with the refusal's code; a
recognizer that is away or too slow leaves the frame in the stream, held by the consumer and read again once
it answers, never lost. A frame stored before (redelivered, or posted again under another message id) is
done: it is not read again and its outcome stands.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from nats.aio.msg import Msg
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.contracts.frames import READ_FRAME, FrameIn, ReadFrameRequest
from libs.common.db import UnitOfWork
from libs.common.deadletter import dead_letter, error_text, is_transient
from libs.common.errors import AlprError
from libs.common.streams import RECORDS_FRAMES
from libs.common.validation import check_document_text, load_json
from services.records.flows import IngestFlow
from services.records.frames import repository
from services.records.frames.service import (
    Outcome,
    captured_at,
    frame_reads,
    is_refusal,
    read_outcome,
    refused_outcome,
    window_probe,
)
from services.records.service import read_refusal
from services.records.settings import RecordsSettings

log = logging.getLogger(__name__)


class FrameFlow:
    """Reads each fetched frame and stores what it found through IngestFlow's own storing."""

    def __init__(self, settings: RecordsSettings, uow: UnitOfWork, bus: Bus, ingest: IngestFlow) -> None:
        self.settings = settings
        self.uow = uow
        self.bus = bus
        self.ingest = ingest

    async def read_batch(self, msgs: list[Msg]) -> None:
        """Read a batch's frames side by side (the recognizer batches them); returns once each is committed.

        A frame that is not one is dead-lettered and the rest go on; any other failure is raised after its
        neighbours are stored, an outage first, so the consumer holds the batch (stored frames are then done).
        """
        frames: list[FrameIn] = []
        for msg in msgs:
            frame = await self._parsed(msg)
            if frame is not None:
                frames.append(frame)
        results = await asyncio.gather(*(self.read_frame(f) for f in frames), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise next((e for e in errors if is_transient(e)), errors[0])

    async def read_frame(self, frame: FrameIn) -> None:
        """Find and read one frame's plates and store them with its outcome, unless it was stored before."""
        async with self.uow() as session:
            if await repository.is_stored(session, frame_id=frame.frame_id):
                return
        refusal = read_refusal(
            window_probe(frame),
            now=datetime.now(UTC),
            active_retention_days=self.settings.active_retention_days,
            clock_skew_s=self.settings.clock_skew_s,
        )
        if refusal is not None:
            if refusal == "captured_before_retention":
                metrics.DENIED.labels("read_past_retention").inc()
            await self._record(frame, refused_outcome(refusal))
            return
        request = ReadFrameRequest(image_b64=frame.image.data_b64)
        try:
            reading = await self.bus.call(READ_FRAME, request, timeout=self.settings.frame_read_timeout_s)
        except AlprError as err:
            if not is_refusal(err):
                raise  # away, overloaded or its own bug: the frame stays in the stream and is read again
            await self._record(frame, refused_outcome(err.code))
            return
        rows = frame_reads(frame, reading, self.ingest.classes)
        outcome = read_outcome(rows)
        if not rows:
            await self._record(frame, outcome)
            return

        inserted: list[bool] = []

        async def with_outcome(session: AsyncSession, new_ids: set[str]) -> None:
            inserted.append(await self._insert(session, frame, outcome))

        # matched against the hotlists, alerts raised, images kept, as every read; the outcome commits with them
        await self.ingest.store(rows, within=with_outcome)
        if any(inserted):
            metrics.FRAMES_READ.labels(outcome.status).inc()  # after the commit: a rolled-back frame comes again

    async def _record(self, frame: FrameIn, outcome: Outcome) -> None:
        """A frame with no read to store: its outcome alone, in a transaction of its own."""
        async with self.uow() as session:
            inserted = await self._insert(session, frame, outcome)
        if inserted:
            metrics.FRAMES_READ.labels(outcome.status).inc()

    async def _insert(self, session: AsyncSession, frame: FrameIn, outcome: Outcome) -> bool:
        """Store the frame's outcome; False when another consumer stored it first (its outcome stands)."""
        stored = await repository.insert_outcome(
            session,
            frame_id=frame.frame_id,
            agency=frame.agency,
            camera_id=frame.camera_id,
            received_at=frame.received_at,
            captured_at=captured_at(frame),
            outcome=outcome,
        )
        if not stored:
            log.info("frame %s was stored by another consumer meanwhile; its first outcome stands", frame.frame_id)
        return stored

    async def _parsed(self, msg: Msg) -> FrameIn | None:
        """The message's frame, checked at the door as a read is; what is not one is dead-lettered (None)."""
        try:
            # text PostgreSQL would refuse, and nesting, refused here as on every bus endpoint
            check_document_text(load_json(msg.data))
            frame = FrameIn.model_validate_json(msg.data)
            window_probe(frame)  # the read's own text and time-zone rules, before any work is spent on it
            return frame
        except (ValueError, AlprError) as exc:
            error = error_text(exc)
        meta = msg.metadata
        log.warning("FRAMES seq %d is not a frame: %s", meta.sequence.stream, error)
        await dead_letter(
            self.bus,
            stream=meta.stream,
            durable=RECORDS_FRAMES.config.durable_name or "",
            subject=msg.subject,
            sequence=meta.sequence.stream,
            deliveries=meta.num_delivered,
            error=error,
            body=msg.data,
            headers=msg.headers,
        )
        return None
