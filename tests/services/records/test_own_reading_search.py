"""Our recognizer's reading is searchable beside the vendor's, exact and look-alike, saying which matched."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.reads import ReadIn
from libs.common.contracts.recognition import Recognition
from libs.common.contracts.search import SEARCH, SearchQuery, SearchRequest
from services.records import repository
from services.records.repository import search_predicates
from services.records.service import ReadRow, matched_on

SAFE = "ACEFHJKMNPRTUVWXY34679"  # no look-alike characters, so only the planted ones collide


def token(n: int) -> str:
    return "".join(random.choice(SAFE) for _ in range(n))


async def store(system: Any, reads: list[tuple[str | None, str | None]], now: datetime) -> list[str]:
    """Store reads as ingest does (ReadRow through the repository): (vendor plate, our reading) each."""
    rt = system.runtime("records")
    await rt.ingest.ensure_partitions({repository.utc_day(now)})
    rows = []
    for i, (vendor, ours) in enumerate(reads):
        read = ReadIn(
            read_id=str(uuid.uuid4()),
            agency="CA0430000",
            camera_id="dev-cam-1",
            captured_at=now - timedelta(minutes=i + 1),
            plate=vendor,
            plate_raw=vendor,
            state="CA",
        )
        recognition = (
            Recognition(
                plate=ours,
                confidence=0.93,
                char_confidences=[0.9] * len(ours),
                candidates=[],
                model_version="t",
                elapsed_ms=1.0,
            )
            if ours
            else None
        )
        rows.append(ReadRow(read=read, recognition=recognition, recognition_asked=True))
    async with rt.uow() as session:
        await repository.insert_reads(session, rows)
    return [row.read.read_id for row in rows]


async def search(system: Any, now: datetime, plate: str, match: str = "exact") -> dict[str, str | None]:
    query = SearchQuery(plate=plate, match=match, since=now - timedelta(hours=1), until=now)  # type: ignore[arg-type]
    request = SearchRequest(search_id=str(uuid.uuid4()), query=query)
    result = await system.runtime("gateway").bus.call(SEARCH, request)
    return {r.read_id: r.matched_on for r in result.reads}


class TestOwnReadingSearch:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_the_issues_read_is_found_by_our_reading_exact_and_lookalike(self, system: Any) -> None:
        now = datetime.now(UTC)
        stem = token(4)
        # issue #23: the vendor sent 1O49338X, the system read 1049338 (a stem keeps this test's reads its own)
        vendor, ours = f"1O4{stem}X", f"104{stem}"
        (read_id,) = await store(system, [(vendor, ours)], now)

        assert await search(system, now, ours) == {read_id: "ours"}
        assert await search(system, now, ours, "lookalike") == {read_id: "ours"}
        assert await search(system, now, f"1D4{stem}", "lookalike") == {read_id: "ours"}  # a look-alike of ours
        assert await search(system, now, vendor) == {read_id: "vendor"}
        assert await search(system, now, f"104{stem}X", "lookalike") == {read_id: "vendor"}

    async def test_each_result_says_which_reading_matched(self, system: Any) -> None:
        now = datetime.now(UTC)
        plate, other = token(7), token(7)
        agreed, vendor_only, ours_only, unread = await store(
            system, [(plate, plate), (plate, other), (other, plate), (plate, None)], now
        )
        found = await search(system, now, plate)
        assert found == {agreed: "both", vendor_only: "vendor", ours_only: "ours", unread: "vendor"}

    async def test_a_read_without_a_vendor_plate_is_found_by_ours(self, system: Any) -> None:
        now = datetime.now(UTC)
        ours = token(7)
        (read_id,) = await store(system, [(None, ours)], now)
        assert await search(system, now, ours) == {read_id: "ours"}
        assert await search(system, now, ours, "lookalike") == {read_id: "ours"}

    async def test_partial_search_stays_on_the_vendors_plate(self, system: Any) -> None:
        now = datetime.now(UTC)
        stem = token(5)
        vendor_read, ours_read = await store(system, [(f"{stem}A1", None), (token(7), f"{stem}C2")], now)
        assert await search(system, now, f"{stem}*", "partial") == {vendor_read: "vendor"}
        assert ours_read  # stored, and not found by a partial plate: the trigram index covers the vendor's only


class TestOwnReadingIndexes:
    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_our_reading_is_searched_on_its_own_indexes(self, system: Any, admin_db: Any) -> None:
        now = datetime.now(UTC)
        ours = token(7)
        await store(system, [(token(7), ours)], now)
        day = f"reads_{now.astimezone(UTC):%Y%m%d}"
        conn = await admin_db()
        try:
            await conn.execute("SET search_path TO records; SET enable_seqscan = off")
            for match, index in (("exact", "our_plate"), ("lookalike", "our_lookalike_key")):
                query = SearchQuery(plate=ours, match=match, since=now - timedelta(hours=1), until=now)  # type: ignore[arg-type]
                _, params, arms = search_predicates(query)
                (name, value), ours_arm = params.popitem(), arms[1]
                plan = "\n".join(
                    r[0]
                    for r in await conn.fetch(
                        f"EXPLAIN SELECT read_id FROM {day} WHERE {ours_arm.replace(f':{name}', '$1')}", value
                    )
                )
                assert f"{day}_{index}_captured_at_idx" in plan, plan
            days = await conn.fetchval(
                "SELECT count(*) FROM read_plate_days WHERE plate = $1 AND day = $2", ours, now.astimezone(UTC).date()
            )
            assert days == 1  # an exact search for our reading probes the day it was read
        finally:
            await conn.close()


class TestMatchedOnRule:
    def test_without_a_plate_nothing_is_said(self) -> None:
        query = SearchQuery(since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2026, 1, 2, tzinfo=UTC))
        assert matched_on(query, "ABC123", "ABC123") is None

    def test_lookalike_compares_keys_and_exact_compares_text(self) -> None:
        since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
        lookalike = SearchQuery(plate="8ABC123", match="lookalike", since=since, until=until)
        assert matched_on(lookalike, "BABC123", "8A8C123") == "both"
        exact = SearchQuery(plate="8abc-123", since=since, until=until)
        assert matched_on(exact, "BABC123", "8ABC123") == "ours"
