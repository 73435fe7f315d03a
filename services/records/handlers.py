"""NATS subjects of records → service calls: READS ingest, search, read and image lookups."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, date, datetime, timedelta

from nats.aio.msg import Msg

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.consumer import batch_key
from libs.common.contracts.alerts import AlertMessage
from libs.common.contracts.reads import BUNDLE_HEADER, ReadBundle, ReadIn
from libs.common.contracts.recognition import Recognition, RecognizeRequest
from libs.common.contracts.search import (
    ReadCount,
    ReadCountQuery,
    ReadDetail,
    ReadImageReply,
    ReadLookup,
    ReadSummary,
    SearchRequest,
    SearchResult,
)
from libs.common.db import UnitOfWork
from libs.common.errors import AlprError, NotFound
from services.records import repository
from services.records.alerts.handlers import AlertRaiser
from services.records.holds.repository import case_has_active_hold
from services.records.lookalike import LookalikeClasses
from services.records.service import (
    ReadRow,
    decode_cursor,
    encode_cursor,
    retention_cutoff,
    search_predicates,
)
from services.records.settings import RecordsSettings

log = logging.getLogger(__name__)
PREPARED_KEPT = 8


class RecordsHandlers:
    """Owns the unit of work for each message; commits before any ack."""

    def __init__(self, settings: RecordsSettings, uow: UnitOfWork, bus: Bus, classes: LookalikeClasses) -> None:
        self.settings = settings
        self.uow = uow
        self.bus = bus
        self.classes = classes
        self._partition_days: set[date] = set()
        self._partition_lock = asyncio.Lock()
        self.alerts: AlertRaiser | None = None  # set by the lifespan once the hotlist index is loaded
        self._prepared: dict[tuple[str, int, int], list[ReadIn]] = {}  # one per ingest pipeline

    async def register(self) -> None:
        await self.bus.serve("alpr.records.search", SearchRequest, self.search, queue="records")
        await self.bus.serve("alpr.records.read", ReadLookup, self.read_detail, queue="records")
        await self.bus.serve("alpr.records.image", ReadLookup, self.read_image, queue="records")
        await self.bus.serve("alpr.records.reads.count", ReadCountQuery, self.count_reads, queue="records")

    async def count_reads(self, query: ReadCountQuery) -> ReadCount:
        """How many reads records holds; an aggregate with no personal data."""
        async with self.uow() as session:
            return ReadCount(reads=await repository.count_reads(session))

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

    def prepare(self, msgs: list[Msg]) -> None:
        """Parse a fetched batch ahead of its turn, while the one before it waits on PostgreSQL.

        Each pipeline's consumer calls this for its prefetched batch; the handler takes it by its key.
        """
        if msgs:
            if len(self._prepared) >= PREPARED_KEPT:  # batches handed back unhandled (a failure, a stop)
                self._prepared.clear()
            self._prepared[batch_key(msgs)] = self._parse(msgs)

    def _parse(self, msgs: list[Msg]) -> list[ReadIn]:
        reads = []
        for msg in msgs:
            try:
                if msg.headers and BUNDLE_HEADER in msg.headers:
                    reads += ReadBundle.model_validate_json(msg.data).reads
                else:
                    reads.append(ReadIn.model_validate_json(msg.data))
            except ValueError:
                log.error("dropping a READS message that is not a read (subject %s)", msg.subject)
        return reads

    async def ingest_batch(self, msgs: list[Msg]) -> None:
        """Store a batch of reads once each; returns only after commit, so the consumer may ack."""
        prepared = self._prepared.pop(batch_key(msgs), None) if self._prepared else None
        reads = prepared if prepared is not None else self._parse(msgs)
        cutoff = retention_cutoff(datetime.now(UTC), self.settings.active_retention_days)
        rows: list[ReadRow] = []
        for read in reads:
            if read.captured_at < cutoff:
                metrics.DENIED.labels("read_past_retention").inc()
                continue
            rows.append(ReadRow(read=read, classes=self.classes))
        # a fetch of bundles can bring many thousands: a transaction each ingest_batch, all before any ack
        for start in range(0, len(rows), self.settings.ingest_batch):
            await self._store(rows[start : start + self.settings.ingest_batch])

    async def _store(self, rows: list[ReadRow]) -> None:
        """One transaction: the reads once each, whether each hit, their alerts and images."""
        await recognize_reads(self.bus, rows, timeout=self.settings.recognize_timeout_s)
        await self.ensure_partitions({repository.utc_day(r.read.captured_at) for r in rows})
        raised: list[AlertMessage] = []
        async with self.uow() as session:
            # matched before the insert so each read stores whether it hit; alerts go out after the commit
            matched = await self.alerts.match(session, rows) if self.alerts else []
            images = [img for row in rows for img in row.decoded_images()]
            new_ids = await repository.insert_reads(session, rows)
            if self.alerts:
                raised = await self.alerts.store(session, matched, new_ids, datetime.now(UTC))
                # a redelivered read (stored before, its alerts' publication cut short) publishes them now,
                # even when its entry has left the index since
                again = [r.read.read_id for r in rows if r.read.read_id not in new_ids]
                raised += await self.alerts.unpublished(session, again)
            await repository.insert_images(session, [i for i in images if i[0] in new_ids])
            await repository.drop_superseded_previews(
                session, preview_ids=[p for row in rows for p in row.read.replaces]
            )
        metrics.STORED.inc(len(new_ids))
        if raised and self.alerts:
            await self.alerts.publish(self.uow, raised)

    async def search(self, request: SearchRequest) -> SearchResult:
        """Predicate-based search; the gateway has already checked who asks and why."""
        query = request.query
        where, params = search_predicates(query, self.classes)
        limit = min(query.limit, self.settings.search_result_cap)
        after = decode_cursor(query.cursor) if query.cursor else None
        started = asyncio.get_running_loop().time()
        async with self.uow() as session:
            held = request.case_number and await case_has_active_hold(session, case_number=request.case_number)
            rows = await repository.search_reads(
                session,
                where=where,
                params=params,
                since=query.since,
                until=query.until,
                after=after,
                limit=limit + 1,
                held_case=request.case_number if held else None,
                generic_plan=query.match != "partial" or not query.plate,
                exact_plate=params["plate"] if query.plate and query.match == "exact" else None,
            )
        metrics.SEARCH_LATENCY.labels("records").observe(asyncio.get_running_loop().time() - started)
        page = [ReadSummary.model_validate(r) for r in rows[:limit]]
        more = len(rows) > limit
        cursor = encode_cursor(page[-1].captured_at, page[-1].read_id) if more and page else None
        return SearchResult(search_id=request.search_id, reads=page, next_cursor=cursor, truncated=more)

    async def read_detail(self, request: ReadLookup) -> ReadDetail:
        async with self.uow() as session:
            row = await repository.get_read(session, read_id=request.read_id)
        if row is None:
            raise NotFound("no such read", code="read_not_found")
        row["candidates"] = row.get("candidates") or []
        row["our_candidates"] = row.get("our_candidates") or []
        row["flags"] = row.get("flags") or []
        return ReadDetail.model_validate(row)

    async def read_image(self, request: ReadLookup) -> ReadImageReply:
        async with self.uow() as session:
            row = await repository.get_image(session, read_id=request.read_id, kind=None)
        if row is None:
            raise NotFound("no image for this read", code="image_not_found")
        return ReadImageReply(
            read_id=row["read_id"],
            kind=row["kind"],
            content_type=row["content_type"],
            data_b64=base64.b64encode(row["data"]).decode(),
        )


async def recognize_reads(bus: Bus, rows: list[ReadRow], *, timeout: float) -> None:
    """Ask the recognizer to read every read that carries an image; a failure flags, never drops, the read."""

    async def one(row: ReadRow) -> None:
        image = next((i for i in row.read.images if i.kind == "plate"), None)
        box, polygon = None, None
        if image is None:
            image = next((i for i in row.read.images if i.kind in ("overview", "vehicle")), None)
            box, polygon = row.read.plate_box, row.read.plate_polygon
            if image is None or (box is None and polygon is None):
                return
        request = RecognizeRequest(image_b64=image.data_b64, box=box, polygon=polygon)
        try:
            row.recognition = await bus.request("alpr.recognize", request, Recognition, timeout=timeout)
        except AlprError as err:
            row.extra_flags.append(f"recognizer_{err.code}")

    await asyncio.gather(*(one(r) for r in rows if r.read.images))
