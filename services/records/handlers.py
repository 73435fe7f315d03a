"""NATS subjects of records → service calls: READS ingest, search, read and image lookups."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from nats.aio.msg import Msg

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.consumer import batch_key
from libs.common.contracts.alerts import AlertMessage
from libs.common.contracts.reads import BUNDLE_HEADER, ReadBundle, ReadIn
from libs.common.contracts.recognition import RECOGNIZE, RecognizeRequest
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
from libs.common.deadletter import dead_letter, error_text, is_permanent, is_transient
from libs.common.errors import AlprError, MalformedPayload, NotFound
from libs.common.streams import RECORDS_READS
from libs.common.validation import load_json
from services.records import repository
from services.records.alerts.handlers import AlertRaiser
from services.records.holds.repository import case_has_active_hold
from services.records.lookalike import LookalikeClasses
from services.records.service import (
    ReadRow,
    decode_cursor,
    encode_cursor,
    held_only_before,
    matched_on,
    read_refusal,
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
        self._prepared: dict[tuple[str, int, int], Parsed] = {}  # one per ingest pipeline

    async def register(self) -> None:
        await self.bus.serve_subject("alpr.records.search", SearchRequest, self.search, queue="records")
        await self.bus.serve_subject("alpr.records.read", ReadLookup, self.read_detail, queue="records")
        await self.bus.serve_subject("alpr.records.image", ReadLookup, self.read_image, queue="records")
        await self.bus.serve_subject("alpr.records.reads.count", ReadCountQuery, self.count_reads, queue="records")

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

    def _parse(self, msgs: list[Msg]) -> Parsed:
        """The reads of a batch, each with its message; what is not a read is set aside, not dropped."""
        parsed = Parsed()
        for msg in msgs:
            try:
                if msg.headers and BUNDLE_HEADER in msg.headers:
                    reads = ReadBundle.model_validate_json(msg.data).reads
                else:
                    reads = [ReadIn.model_validate_json(msg.data)]
            except ValueError as exc:
                self._parse_alone(msg, exc, parsed)
                continue
            parsed.reads += [(read, msg) for read in reads]
        return parsed

    def _parse_alone(self, msg: Msg, error: ValueError, parsed: Parsed) -> None:
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

    async def ingest_batch(self, msgs: list[Msg]) -> None:
        """Store a batch of reads once each; returns only after commit, so the consumer may ack.

        A read records may not store (a time past our clock, NUL in a text) is dead-lettered on its own and
        the reads beside it are stored; a read older than the retention cutoff is dropped, as the law asks.
        """
        prepared = self._prepared.pop(batch_key(msgs), None) if self._prepared else None
        parsed = prepared if prepared is not None else self._parse(msgs)
        now = datetime.now(UTC)
        rows: list[ReadRow] = []
        origins: dict[int, Msg] = {}
        rejects = list(parsed.rejects)
        for read, msg in parsed.reads:
            refusal = read_refusal(
                read,
                now=now,
                active_retention_days=self.settings.active_retention_days,
                clock_skew_s=self.settings.clock_skew_s,
            )
            if refusal == "captured_before_retention":
                metrics.DENIED.labels("read_past_retention").inc()
            elif refusal is not None:
                rejects.append(Reject.of_read(msg, read, refusal))
            else:
                row = ReadRow(read=read, classes=self.classes)
                origins[id(row)] = msg
                rows.append(row)
        # a fetch of bundles can bring many thousands: a transaction each ingest_batch, all before any ack
        for start in range(0, len(rows), self.settings.ingest_batch):
            await self._store_isolating(rows[start : start + self.settings.ingest_batch], origins, rejects)
        for reject in rejects:
            await reject.dead_letter(self.bus)

    async def _store_isolating(self, rows: list[ReadRow], origins: dict[int, Msg], rejects: list[Reject]) -> None:
        """Store rows in one transaction; if PostgreSQL refuses one, find it by halves and set it aside."""
        try:
            await self._store(rows)
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
        """Predicate-based search; the gateway has already checked who asks and why.

        B2: under a case with an active hold the search may reach past the searcher's look-back, finding there
        only what a hold of that case keeps; held copies answer that case alone.
        """
        query = request.query
        where, params, arms = search_predicates(query, self.classes)
        limit = min(query.limit, self.settings.search_result_cap)
        after = decode_cursor(query.cursor) if query.cursor else None
        started = asyncio.get_running_loop().time()
        async with self.uow() as session:
            held = bool(request.case_number) and await case_has_active_hold(
                session, case_number=request.case_number or ""
            )
            held_before = held_only_before(query.since, request.lookback_from, case_holds=held)
            rows = await repository.search_reads(
                session,
                where=where,
                arms=arms,
                params=params,
                since=query.since,
                until=query.until,
                after=after,
                limit=limit + 1,
                held_case=request.case_number if held else None,
                held_before=held_before,
                generic_plan=query.match != "partial" or not query.plate,
                exact_plate=params["plate"] if query.plate and query.match == "exact" else None,
            )
        metrics.SEARCH_LATENCY.labels("records").observe(asyncio.get_running_loop().time() - started)
        page = [
            ReadSummary.model_validate({**r, "matched_on": matched_on(query, r["plate"], r["our_plate"], self.classes)})
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        cursor = encode_cursor(page[-1].captured_at, page[-1].read_id) if more and page else None
        return SearchResult(search_id=request.search_id, reads=page, next_cursor=cursor, truncated=more)

    async def read_detail(self, request: ReadLookup) -> ReadDetail:
        """One read in full; a held copy past retention only to its hold's case, to others no such read."""
        async with self.uow() as session:
            row = await repository.get_read(session, read_id=request.read_id, case_number=request.case_number)
        if row is None:
            raise NotFound("no such read", code="read_not_found")
        row["candidates"] = row.get("candidates") or []
        row["our_candidates"] = row.get("our_candidates") or []
        row["flags"] = row.get("flags") or []
        return ReadDetail.model_validate(row)

    async def read_image(self, request: ReadLookup) -> ReadImageReply:
        async with self.uow() as session:
            row = await repository.get_image(
                session, read_id=request.read_id, kind=None, case_number=request.case_number
            )
        if row is None:
            raise NotFound("no image for this read", code="image_not_found")
        return ReadImageReply(
            read_id=row["read_id"],
            kind=row["kind"],
            content_type=row["content_type"],
            data_b64=base64.b64encode(row["data"]).decode(),
        )


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


async def recognize_reads(bus: Bus, rows: list[ReadRow], *, timeout: float) -> None:
    """Ask the recognizer to read every read that carries an image; a failure flags, never drops, the read."""

    async def one(row: ReadRow) -> None:
        row.recognition_asked = True
        image = next((i for i in row.read.images if i.kind == "plate"), None)
        box, polygon = None, None
        if image is None:
            image = next((i for i in row.read.images if i.kind in ("overview", "vehicle")), None)
            box, polygon = row.read.plate_box, row.read.plate_polygon
            if image is None or (box is None and polygon is None):
                return
        request = RecognizeRequest(image_b64=image.data_b64, box=box, polygon=polygon, state=row.read.state)
        try:
            row.recognition = await bus.call(RECOGNIZE, request, timeout=timeout)
        except AlprError as err:
            row.extra_flags.append(f"recognizer_{err.code}")

    # once per read: a transaction split by halves to find a read PostgreSQL refuses stores the rest again
    await asyncio.gather(*(one(r) for r in rows if r.read.images and not r.recognition_asked))
