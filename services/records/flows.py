"""The ingest flow: READS batches fetched from JetStream → recognized, matched, stored, alerts raised, published.

Orchestration with side effects lives here (Netflix dispatch's flows), so handlers.py stays a route table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from nats.aio.msg import Msg
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.consumer import PreparedAhead
from libs.common.contracts.alerts import AlertMessage
from libs.common.contracts.recognition import RECOGNIZE, RecognizeRequest
from libs.common.db import UnitOfWork
from libs.common.deadletter import error_text, is_permanent, is_transient
from libs.common.errors import AlprError
from services.records import repository
from services.records.alerts.flows import AlertRaiser, MatchedRow
from services.records.batches import Parsed, Reject, parse_batch
from services.records.lookalike import LookalikeClasses
from services.records.service import CaptureWindows, ReadRow, read_id_refusal
from services.records.settings import RecordsSettings

log = logging.getLogger(__name__)
# the code a read is set aside with when its id is stored (or in the same batch) at another capture time
READ_ID_CONFLICT = "read_id_conflict"
# more rows to write in a store's transaction, given the ids of the reads it inserted
InTransaction = Callable[[AsyncSession, set[str]], Awaitable[None]]


class IngestFlow:
    """Stores READS batches; owns the unit of work for each and returns only after commit, so the consumer may ack."""

    def __init__(
        self, settings: RecordsSettings, uow: UnitOfWork, bus: Bus, classes: LookalikeClasses, alerts: AlertRaiser
    ) -> None:
        self.settings = settings
        self.uow = uow
        self.bus = bus
        self.classes = classes
        self.alerts = alerts
        self._partition_days: set[date] = set()
        self._partition_lock = asyncio.Lock()

    async def ensure_partitions(self, days: set[date]) -> None:
        """Create missing daily partitions (ahead of time too) in a short transaction of their own."""
        missing = days - self._partition_days
        if not missing:
            return
        async with self._partition_lock:
            async with self.uow() as session:
                if not self._partition_days:
                    self._partition_days = await repository.existing_partition_days(session)
                missing = days - self._partition_days
                if missing:
                    await repository.ensure_day_partitions(session, days=sorted(missing))
            self._partition_days |= missing

    async def create_partitions_ahead(self) -> None:
        today = datetime.now(UTC).date()
        await self.ensure_partitions(
            {today + timedelta(days=i) for i in range(-1, self.settings.partitions_ahead_days + 1)}
        )

    async def ingest_batch(self, msgs: list[Msg], *, parsed: Parsed | None = None) -> None:
        """Store a batch of reads once each (`parsed`: the batch parsed ahead, when it was); returns after commit.

        A read records may not store (a time past our clock, NUL in a text) is dead-lettered on its own and
        the reads beside it are stored; a read older than the retention cutoff is dropped, as the law asks.
        """
        parsed = parsed if parsed is not None else parse_batch(msgs)
        windows = CaptureWindows(
            now=datetime.now(UTC),
            active_retention_days=self.settings.active_retention_days,
            clock_skew_s=self.settings.clock_skew_s,
        )
        rows: list[ReadRow] = []
        origins: dict[int, Msg] = {}
        rejects = list(parsed.rejects)
        taken: dict[str, datetime] = {}  # each read id's capture time in this batch (the table's key is both)
        for read, msg in parsed.reads:
            refusal = read_id_refusal(read.read_id) or windows.refusal(read)
            if refusal is None and taken.setdefault(read.read_id, read.captured_at) != read.captured_at:
                refusal = READ_ID_CONFLICT  # one id, two instants in one batch: the store would keep both
            if refusal == "captured_before_retention":
                metrics.DENIED.labels("read_past_retention").inc()
            elif refusal is not None:
                rejects.append(Reject.of_read(msg, read, refusal))
            else:
                row = ReadRow(read=read, classes=self.classes)
                origins[id(row)] = msg
                rows.append(row)
        # a fetch of bundles can bring many thousands: a transaction each ingest_batch, all before any ack
        for chunk in store_chunks(rows, self.settings.ingest_batch, self.settings.ingest_image_bytes):
            await self._store_isolating(chunk, origins, rejects)
        for reject in rejects:
            await reject.dead_letter(self.bus)

    async def _store_isolating(self, rows: list[ReadRow], origins: dict[int, Msg], rejects: list[Reject]) -> None:
        """Store rows in one transaction; if PostgreSQL refuses one, find it by halves and set it aside."""
        try:
            clashed = await self._store(rows)
        except Exception as exc:
            if is_transient(exc) or (len(rows) == 1 and not is_permanent(exc)):
                raise  # an outage, or a failure we cannot place: the consumer retries the message
            if len(rows) == 1:
                log.warning("read %s cannot be stored: %s", rows[0].read.read_id, exc)
                rejects.append(Reject.of_read(origins[id(rows[0])], rows[0].read, error_text(exc)))
                return
            # halves: one bad read among a thousand costs about twenty transactions, not a thousand
            middle = len(rows) // 2
            await self._store_isolating(rows[:middle], origins, rejects)
            await self._store_isolating(rows[middle:], origins, rejects)
            return
        for row in rows:
            if row.read.read_id in clashed:
                rejects.append(Reject.of_read(origins[id(row)], row.read, READ_ID_CONFLICT))

    async def store(self, rows: list[ReadRow], *, within: InTransaction) -> None:
        """Store rows as READS reads are stored, with `within`'s own rows in the same transaction (a posted
        photograph's outcome beside the reads found in it, frames/flows.py)."""
        clashed = await self._store(rows, within)
        if clashed:  # a frame's read ids are made from the frame and plate: another time means another frame
            log.warning("%d reads of a frame not stored: their ids are stored at another time", len(clashed))

    async def _store(self, rows: list[ReadRow], within: InTransaction | None = None) -> set[str]:
        """The reads once each, whether each hit, their alerts and images: all committed together, or nothing.

        Returns the ids not stored because a read of that id is stored at another instant (`read_id_conflict`).
        """
        await recognize_reads(self.bus, rows, timeout=self.settings.recognize_timeout_s)
        await self.ensure_partitions({repository.utc_day(r.read.captured_at) for r in rows})
        # matched before the store so each read stores whether it hit; alerts go out after the commit
        matched, seen = self.alerts.match_indexed(rows)
        images = [img for row in rows for img in row.decoded_images()]
        stored: repository.Stored | None = None
        raised: list[AlertMessage] = []
        if within is None and not matched and not any(row.read.replaces or _is_preview(row) for row in rows):
            # most batches: no hit, no preview to store or drop, no frame. Their reads and images are one
            # statement, a transaction by itself: BEGIN and COMMIT were two of a small batch's three round trips
            async with self.uow.alone() as conn:
                stored = await repository.store_reads_alone(conn, rows, images, hotlists_seen=seen)
            if stored is not None:  # committed: counted now, since a failure below retries a stored batch
                metrics.STORED.inc(len(stored.new_ids))
                again = [r.read.read_id for r in rows if r.read.read_id not in stored.new_ids | stored.clashed]
                if again:  # redelivered: their alerts' publication may have been cut short
                    async with self.uow() as session:
                        raised = await self.alerts.unpublished(session, again)
        if stored is None:
            stored, raised = await self._store_in_transaction(rows, images, matched, seen, within)
            metrics.STORED.inc(len(stored.new_ids))
        if raised:
            await self.alerts.publish(self.uow, raised)
        return stored.clashed

    async def _store_in_transaction(
        self,
        rows: list[ReadRow],
        images: list[repository.Image],
        matched: list[MatchedRow],
        seen: int,
        within: InTransaction | None,
    ) -> tuple[repository.Stored, list[AlertMessage]]:
        """One transaction: the reads and images, the alerts of the new reads, previews dropped (and late ones
        skipped), `within`'s rows."""
        async with self.uow() as session:
            replaced = [(p, row.read.captured_at) for row in rows for p in row.read.replaces]
            previews = [row.read.read_id for row in rows if _is_preview(row)]
            await repository.lock_previews(session, ids=previews + [p for p, _ in replaced])
            late = await repository.replaced_among(session, preview_ids=previews)
            if late:
                # a preview sent again after its final (the agent retrying): the final stands for the vehicle,
                # so the preview is acked unstored, as a duplicate is, and raises no second alert
                log.info("skipped %d previews whose final is stored", len(late))
                rows = [row for row in rows if row.read.read_id not in late]
                images = [image for image in images if image[0] not in late]
                matched = [m for m in matched if m.row.read.read_id not in late]
            while (stored := await repository.store_reads(session, rows, images, hotlists_seen=seen)) is None:
                # an entry changed after the index's last change (a notice lost, or not yet come): the index
                # catches up in this transaction and the reads are matched again
                matched, seen = await self.alerts.match(session, rows)
            new_ids = stored.new_ids
            # one vehicle, one alert: previews replaced here raise none, and a final takes over the alert its
            # earlier preview raised on a plate it hits too (the preview is dropped below)
            matched = await self.alerts.hand_over_previews(session, rows, matched, new_ids)
            raised: list[AlertMessage] = await self.alerts.store(session, matched, new_ids, datetime.now(UTC))
            # a redelivered read (stored before, its alerts' publication cut short) publishes them now,
            # even when its entry has left the index since
            again = [r.read.read_id for r in rows if r.read.read_id not in new_ids | stored.clashed]
            raised += await self.alerts.unpublished(session, again)
            await repository.drop_superseded_previews(session, replaced=replaced)
            if within is not None:
                await within(session, new_ids)
        return stored, raised


class IngestPipeline:
    """One READS consumer's pipeline: it parses its next batch while the one before waits on PostgreSQL."""

    def __init__(self, flow: IngestFlow) -> None:
        self.flow = flow
        self._prepared: PreparedAhead[Parsed] = PreparedAhead()

    def prepare(self, msgs: list[Msg]) -> None:
        """Parse a prefetched batch ahead of its turn; only the last one is kept."""
        if msgs:
            self._prepared.keep(msgs, parse_batch(msgs))

    async def ingest(self, msgs: list[Msg]) -> None:
        """Hand the flow this batch, with its parsed form when it was prepared."""
        await self.flow.ingest_batch(msgs, parsed=self._prepared.take(msgs))


def _is_preview(row: ReadRow) -> bool:
    return repository.PREVIEW_FLAG in row.read.flags


async def recognize_reads(bus: Bus, rows: list[ReadRow], *, timeout: float) -> None:
    """Ask the recognizer to read every read that carries an image; a failure flags, never drops, the read."""

    async def one(row: ReadRow) -> None:
        row.recognition_asked = True
        image = next((i for i in row.read.images if i.kind == "plate"), None)
        box, polygon = None, None
        if image is None:
            image = next((i for i in row.read.images if i.kind in ("overview", "vehicle")), None)
            box, polygon = row.read.plate_box, row.read.plate_polygon
            if image is None:
                return
        # a scene photo without a box: the recognizer finds the plate nearest the vendor's text (second opinion)
        find = image.kind != "plate" and box is None and polygon is None
        request = RecognizeRequest(
            image_b64=image.data_b64,
            box=box,
            polygon=polygon,
            state=row.read.state,
            find_plate=find,
            plate_hint=row.read.plate if find else None,
        )
        try:
            row.recognition = await bus.call(RECOGNIZE, request, timeout=timeout)
        except AlprError as err:
            row.extra_flags.append(f"recognizer_{err.code}")

    # once per read: a transaction split by halves to find a read PostgreSQL refuses stores the rest again
    await asyncio.gather(*(one(r) for r in rows if r.read.images and not r.recognition_asked))


def store_chunks(rows: list[ReadRow], most_reads: int, most_image_bytes: int) -> list[list[ReadRow]]:
    """The rows in order, cut into stores of at most `most_reads` reads and `most_image_bytes` of images.

    A store sends its reads' images as one bytea[] value: PostgreSQL refuses a value or message over 1 GB,
    an error that would be retried without end, and a backend holds about twice the value while it works.
    A fetch of fifty full-size camera posts comes near that, so images bound a store as the count does; a
    read whose own images pass the bound is stored alone (a post's body limit keeps that far under 1 GB).
    """
    chunks: list[list[ReadRow]] = []
    chunk: list[ReadRow] = []
    size = 0
    for row in rows:
        # the base64 text's length: a bound of the decoded bytes, known without decoding
        images = row.read.images
        weight = sum(len(image.data_b64) for image in images) if images else 0
        if chunk and (len(chunk) >= most_reads or size + weight > most_image_bytes):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(row)
        size += weight
    if chunk:
        chunks.append(chunk)
    return chunks
