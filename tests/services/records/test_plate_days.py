"""The plate-day map behind exact searches: a year-long window finds a plate's reads, a purge takes them away."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.search import SEARCH, SearchQuery, SearchRequest
from services.records.repository import search as search_sql
from tests.services.records.test_retention import purge

pytestmark = pytest.mark.asyncio(loop_scope="session")


def plate() -> str:
    return "Y" + uuid.uuid4().hex[:6].upper()


async def exact(system: Any, plate: str, now: datetime, *, limit: int = 100) -> list[str]:
    """Every page of a 365-day exact search, read ids newest first."""
    seen: list[str] = []
    cursor = None
    while True:
        query = SearchQuery(
            plate=plate, since=now - timedelta(days=365), until=now + timedelta(minutes=5), limit=limit, cursor=cursor
        )
        request = SearchRequest(search_id=str(uuid.uuid4()), query=query)
        result = await system.runtime("gateway").bus.call(SEARCH, request)
        seen += [r.read_id for r in result.reads]
        cursor = result.next_cursor
        if cursor is None:
            return seen


async def mapped_days(admin_db: Any, plate: str) -> int:
    conn = await admin_db()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM records.read_plate_days WHERE plate = $1", plate))
    finally:
        await conn.close()


class TestYearLongExactSearch:
    async def test_a_read_in_each_season_is_found_and_its_purged_day_is_not(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        now = datetime.now(UTC)
        wanted = plate()
        # 362 days back is past the live cutoff (365 - 7 backup days): the purge drops that day
        ages = [1, 90, 180, 270, 362]
        stored = await store_reads([{"plate": wanted, "captured_at": now - timedelta(days=d)} for d in ages])
        await store_reads([{"plate": plate(), "captured_at": now - timedelta(days=d)} for d in ages])
        assert await mapped_days(admin_db, wanted) == len(ages)
        assert await exact(system, wanted, now) == [r.read_id for r in stored]

        report = await purge(system)

        assert await exact(system, wanted, now) == [r.read_id for r in stored[:-1]]
        # the map's months that ended before the cutoff went with the purge
        assert report.cutoff is not None
        conn = await admin_db()
        try:
            months = await conn.fetch(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'records.read_plate_days'::regclass"
            )
        finally:
            await conn.close()
        first_kept_month = report.cutoff.astimezone(UTC).strftime("%Y%m")
        assert months and all(m["relname"][-6:] >= first_kept_month for m in months)
        assert await exact(system, wanted, now, limit=1) == [r.read_id for r in stored[:-1]]

    async def test_pages_over_many_scattered_days_cover_every_read_once(self, system: Any, store_reads: Any) -> None:
        now = datetime.now(UTC)
        wanted = plate()
        # one read every other day for 280 days, and two on the newest: more runs of days than one
        # statement takes, and a first statement that sees more than one read a day
        reads = [{"plate": wanted, "captured_at": now - timedelta(days=2 * i, minutes=1)} for i in range(140)]
        reads.append({"plate": wanted, "captured_at": now - timedelta(minutes=2)})
        stored = await store_reads(reads)
        newest_first = [r.read_id for r in sorted(stored, key=lambda r: r.captured_at, reverse=True)]
        assert await exact(system, wanted, now) == newest_first
        assert await exact(system, wanted, now, limit=7) == newest_first
        assert await exact(system, wanted, now, limit=1000) == newest_first

    async def test_a_read_deleted_since_its_day_was_mapped_is_simply_not_found(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        now = datetime.now(UTC)
        wanted = plate()
        kept, deleted = await store_reads(
            [
                {"plate": wanted, "captured_at": now - timedelta(days=3)},
                {"plate": wanted, "captured_at": now - timedelta(days=40)},
            ]
        )
        conn = await admin_db()
        try:  # as the B5 cap or a dropped preview does: the row goes, the map keeps naming its day
            await conn.execute("DELETE FROM records.reads WHERE read_id = $1::uuid", deleted.read_id)
        finally:
            await conn.close()
        assert await mapped_days(admin_db, wanted) == 2
        assert await exact(system, wanted, now) == [kept.read_id]

    async def test_runs_of_consecutive_days_over_many_statements_page_in_order(
        self, system: Any, store_reads: Any
    ) -> None:
        now = datetime.now(UTC)
        wanted = plate()
        # three days in a row every week for 48 weeks (a span each run: several statements), and three
        # reads on one day
        ages = [7 * week + d for week in range(48) for d in range(3)]
        reads = [{"plate": wanted, "captured_at": now - timedelta(days=d, minutes=5)} for d in ages]
        reads += [{"plate": wanted, "captured_at": now - timedelta(days=45, minutes=m)} for m in (1, 2, 3)]
        stored = await store_reads(reads)
        newest_first = [r.read_id for r in sorted(stored, key=lambda r: r.captured_at, reverse=True)]
        assert await exact(system, wanted, now) == newest_first
        assert await exact(system, wanted, now, limit=7) == newest_first
        assert await exact(system, wanted, now, limit=1000) == newest_first


async def test_a_statement_takes_runs_of_consecutive_days_up_to_its_span_budget() -> None:
    today = datetime.now(UTC).date()
    # two consecutive days share a span; a day after a gap starts its own
    days = [today, today - timedelta(days=1), today - timedelta(days=3)]
    bind, rest = search_sql._day_spans(days, most=10)
    assert (bind["span0_lo"].date(), bind["span0_hi"].date()) == (days[1], today + timedelta(days=1))
    assert (bind["span1_lo"].date(), bind["span1_hi"].date()) == (days[2], days[2] + timedelta(days=1))
    assert bind["span2_lo"] == bind["span2_hi"] and rest == []
    # every other day: one span each, the days past the budget left for the next statement
    apart = [today - timedelta(days=2 * i) for i in range(search_sql.DAY_SPANS + 3)]
    bind, rest = search_sql._day_spans(apart, most=len(apart))
    assert rest == apart[search_sql.DAY_SPANS :]
    assert bind[f"span{search_sql.DAY_SPANS - 1}_lo"].date() == apart[search_sql.DAY_SPANS - 1]
    # and at most `most` days, however few spans they need
    assert search_sql._day_spans(apart, most=2)[1] == apart[2:]
