"""Searches, a read's detail and its image, for the gateway (and sharing, for partners' searches)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

from libs.common import metrics
from libs.common.contracts.search import (
    ReadDetail,
    ReadImageReply,
    ReadLookup,
    ReadSummary,
    SearchRequest,
    SearchResult,
)
from libs.common.db import UnitOfWork
from libs.common.errors import NotFound
from services.records import repository
from services.records.holds.repository import case_has_active_hold
from services.records.lookalike import LookalikeClasses
from services.records.retention.service import unmatched_cutoff
from services.records.service import decode_cursor, encode_cursor, held_only_before, matched_on
from services.records.settings import RecordsSettings


class ReadLookups:
    """One unit of work per request; the gateway has already checked who asks and why."""

    def __init__(self, settings: RecordsSettings, uow: UnitOfWork, classes: LookalikeClasses) -> None:
        self.settings = settings
        self.uow = uow
        self.classes = classes

    async def search(self, request: SearchRequest) -> SearchResult:
        """Predicate-based search, newest first, one page at a time.

        B2: under a case with an active hold the search may reach past the searcher's look-back, finding there
        only what a hold of that case keeps; held copies answer that case alone. B5: with the cap on, a read
        that matched no hotlist and is past the cap is still there only because a hold keeps it, so it too
        answers that hold's case alone (not another officer's search, nor a partner's).
        """
        query = request.query
        predicates = repository.search_predicates(query, self.classes)
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
                predicates=predicates,
                since=query.since,
                until=query.until,
                after=after,
                limit=limit + 1,
                held_case=request.case_number if held else None,
                held_before=held_before,
                unmatched_before=unmatched_cutoff(datetime.now(UTC), self.settings),
                generic_plan=query.match != "partial" or not query.plate,
                exact_plate=predicates.params["plate"] if query.plate and query.match == "exact" else None,
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
            read = await repository.get_read(
                session,
                read_id=request.read_id,
                case_number=request.case_number,
                unmatched_before=unmatched_cutoff(datetime.now(UTC), self.settings),
            )
        if read is None:
            raise NotFound("no such read", code="read_not_found")
        shown = read.model_dump(mode="json")
        return ReadDetail.model_validate({**shown, "our_candidates": shown["our_candidates"] or []})

    async def read_image(self, request: ReadLookup) -> ReadImageReply:
        """A read's image, the plate crop first; a held copy's only to its hold's case."""
        async with self.uow() as session:
            image = await repository.get_image(
                session,
                read_id=request.read_id,
                kind=None,
                case_number=request.case_number,
                unmatched_before=unmatched_cutoff(datetime.now(UTC), self.settings),
            )
        if image is None:
            raise NotFound("no image for this read", code="image_not_found")
        return ReadImageReply(
            read_id=str(image.read_id),
            kind=image.kind,
            content_type=image.content_type,
            data_b64=base64.b64encode(image.data).decode(),
        )
