"""Retention: partitions past the cutoff dropped, held reads kept apart, released holds purged, certified."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.contracts.holds import PURGE, PurgeReport, PurgeRequest
from libs.common.contracts.search import SEARCH
from services.records.retention.job import PurgeJob
from services.records.retention.repository import PURGE_LOCK
from services.records.settings import RecordsSettings

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASE = "SJ-2026-{}"
JUSTIFICATION = "Vehicle seen leaving two armed robberies on Story Road; owner is a named suspect"
REASON = "Vehicle reported stolen at knifepoint on Story Road"


def plate() -> str:
    return "R" + uuid.uuid4().hex[:6].upper()


def case_number() -> str:
    return CASE.format(f"{uuid.uuid4().int % 10**6:06d}")  # six digits: the format asks 4-8, a short draw was refused


async def purge(system: Any, now: datetime | None = None) -> PurgeReport:
    bus = system.runtime("gateway").bus
    for _ in range(50):
        report = await bus.call(PURGE, PurgeRequest(now=now), timeout=60)
        if report.ran:
            return report
        await asyncio.sleep(0.1)  # a purge started by a hold's release holds the lock
    raise AssertionError("the purge lock was never free")


async def approved_hold(system: Any, case: str, **selection: Any) -> str:
    body = {
        "use": "wanted_suspect",
        "case_number": case,
        "justification": JUSTIFICATION,
        "review_date": (date.today() + timedelta(days=90)).isoformat(),
        **selection,
    }
    requested = await system.gateway.post("/v1/holds", json=body, headers=system.token("officer"))
    assert requested.status_code == 201, requested.text
    hold_id = requested.json()["hold_id"]
    decided = await system.gateway.post(
        f"/v1/holds/{hold_id}/decision", json={"approve": True}, headers=system.token("supervisor")
    )
    assert decided.status_code == 200 and decided.json()["status"] == "active", decided.text
    return str(hold_id)


async def where(admin_db: Any, read_id: str) -> dict[str, int]:
    conn = await admin_db()
    try:
        counts = {}
        for table in ("reads", "read_images", "held_reads", "held_read_images"):
            counts[table] = await conn.fetchval(
                f"SELECT count(*) FROM records.{table} WHERE read_id = $1::uuid", read_id
            )
        return counts
    finally:
        await conn.close()


def b5_job(system: Any) -> PurgeJob:
    """A purge with the B5 cap switched on: reads that matched no hotlist go after 60 days."""
    rt = system.runtime("records")
    env = {k.removeprefix("ALPR_").lower(): v for k, v in system.stack.env_for("records", http_port=0).items()}
    return PurgeJob(RecordsSettings(**{**env, "environment": "test", "unmatched_retention_days": 60}), rt.uow, rt.bus)


async def plate_days(admin_db: Any, plate_text: str) -> list[date]:
    conn = await admin_db()
    try:
        rows = await conn.fetch("SELECT day FROM records.read_plate_days WHERE plate = $1 ORDER BY day", plate_text)
        return [r["day"] for r in rows]
    finally:
        await conn.close()


async def certificate(admin_db: Any, event_id: str) -> dict[str, Any]:
    conn = await admin_db()
    try:
        row = await conn.fetchrow("SELECT * FROM audit.access_records WHERE event_id = $1", event_id)
    finally:
        await conn.close()
    assert row is not None, "no deletion certificate in the audit log"
    assert row["event_type"] == "purge"
    assert json.loads(row["actor"])["kind"] == "system"
    return dict(json.loads(row["payload"])["details"])


class TestPurgeDropsExpiredPartitions:
    async def test_old_reads_go_held_reads_stay_and_the_certificate_says_so(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        now = datetime.now(UTC)
        # 362 days back: past the live cutoff (365 - (7 + 1 + 1) backup days) but inside every class's look-back
        old = now - timedelta(days=362)
        held_plate, case = plate(), case_number()
        by_id, by_plate, unheld, pending = await store_reads(
            [
                {"plate": plate(), "captured_at": old},
                {"plate": held_plate, "captured_at": old + timedelta(minutes=1)},
                {"plate": plate(), "captured_at": old + timedelta(minutes=2)},
                {"plate": plate(), "captured_at": old + timedelta(minutes=3)},
            ]
        )
        await approved_hold(system, case, read_ids=[by_id.read_id])
        await approved_hold(
            system,
            case,
            plate=held_plate,
            since=(old - timedelta(hours=1)).isoformat(),
            until=(old + timedelta(hours=1)).isoformat(),
        )
        # a hold no supervisor approved keeps nothing
        unapproved = {
            "use": "wanted_suspect",
            "case_number": case,
            "justification": JUSTIFICATION,
            "review_date": (date.today() + timedelta(days=30)).isoformat(),
            "read_ids": [pending.read_id],
        }
        assert (
            await system.gateway.post("/v1/holds", json=unapproved, headers=system.token("officer"))
        ).status_code == 201

        report = await purge(system)

        assert f"reads_{old:%Y%m%d}" in report.partitions_dropped
        for gone in (unheld, pending):
            assert await where(admin_db, gone.read_id) == {
                "reads": 0, "read_images": 0, "held_reads": 0, "held_read_images": 0
            }  # fmt: skip
        for kept in (by_id, by_plate):
            assert await where(admin_db, kept.read_id) == {
                "reads": 0, "read_images": 0, "held_reads": 1, "held_read_images": 1
            }  # fmt: skip
        conn = await admin_db()
        try:
            assert await conn.fetchval("SELECT to_regclass($1)", f"records.reads_{old:%Y%m%d}") is None
            assert await conn.fetchval("SELECT to_regclass($1)", f"records.read_images_{old:%Y%m%d}") is None
        finally:
            await conn.close()
        details = await certificate(admin_db, report.certificate_id or "")
        assert details["reads_purged"] >= 4 and details["reads_held"] >= 2
        assert details["range"]["captured_before"] == report.cutoff.isoformat() if report.cutoff else False
        assert f"reads_{old:%Y%m%d}" in details["range"]["partitions"]

    async def test_a_held_copy_answers_a_search_for_its_case_only(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        now = datetime.now(UTC)
        old = now - timedelta(days=361)
        held_plate, case = plate(), case_number()
        (held,) = await store_reads([{"plate": held_plate, "captured_at": old}])
        await approved_hold(system, case, read_ids=[held.read_id])
        await purge(system)
        query = {"plate": held_plate, "since": (now - timedelta(days=364)).isoformat(), "until": now.isoformat()}
        purpose = {"use": "wanted_suspect", "case_number": case, "reason": REASON}
        # a window over 30 days is broad; this test is about held copies, so ask records directly too
        from libs.common.contracts.search import SearchQuery, SearchRequest

        bus = system.runtime("gateway").bus
        found = await bus.call(
            SEARCH,
            SearchRequest(search_id="t", query=SearchQuery.model_validate(query), case_number=case),
        )
        assert [r.read_id for r in found.reads] == [held.read_id]
        other = await bus.call(
            SEARCH,
            SearchRequest(search_id="t", query=SearchQuery.model_validate(query), case_number=case_number()),
        )
        assert other.reads == []
        # the detail and the image follow from the held copy
        detail = await system.gateway.get(f"/v1/reads/{held.read_id}", params=purpose, headers=system.token("officer"))
        assert detail.status_code == 200 and detail.json()["plate"] == held_plate, detail.text
        image = await system.gateway.get(
            f"/v1/reads/{held.read_id}/image", params=purpose, headers=system.token("officer")
        )
        assert image.status_code == 200 and image.content == held.image


class TestReleasedHoldsArePurged:
    async def test_ending_a_hold_deletes_its_copies_with_a_certificate(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        old = datetime.now(UTC) - timedelta(days=362)
        (read,) = await store_reads([{"plate": plate(), "captured_at": old}])
        hold_id = await approved_hold(system, case_number(), read_ids=[read.read_id])
        await purge(system)
        assert (await where(admin_db, read.read_id))["held_reads"] == 1

        released = await system.gateway.post(
            f"/v1/holds/{hold_id}/release",
            json={"reason": "Case closed by the district attorney"},
            headers=system.token("officer"),
        )
        assert released.status_code == 200 and released.json()["status"] == "released", released.text
        report = await purge(system)

        assert await where(admin_db, read.read_id) == {
            "reads": 0, "read_images": 0, "held_reads": 0, "held_read_images": 0
        }  # fmt: skip
        conn = await admin_db()
        try:
            released_counts = await conn.fetchval(
                "SELECT sum(((payload::jsonb)->'details'->>'held_released')::int) FROM audit.access_records "
                "WHERE event_type = 'purge' AND occurred_at >= $1",
                old + timedelta(days=362) - timedelta(minutes=5),
            )
        finally:
            await conn.close()
        assert report.ran and released_counts >= 1

    async def test_a_lapsed_hold_releases_its_copies(self, system: Any, store_reads: Any, admin_db: Any) -> None:
        old = datetime.now(UTC) - timedelta(days=362)
        (read,) = await store_reads([{"plate": plate(), "captured_at": old}])
        hold_id = await approved_hold(system, case_number(), read_ids=[read.read_id])
        await purge(system)
        # the review date passes with no renewal
        conn = await admin_db()
        try:
            await conn.execute(
                "UPDATE records.legal_holds SET review_date = current_date - 1 WHERE hold_id = $1::uuid", hold_id
            )
        finally:
            await conn.close()
        report = await purge(system)
        assert hold_id in report.holds_lapsed
        assert (await where(admin_db, read.read_id))["held_reads"] == 0
        review = {"use": "hold_review", "reason": "Review of a hold whose review date has passed"}
        hold = await system.gateway.get(f"/v1/holds/{hold_id}", params=review, headers=system.token("supervisor"))
        assert hold.json()["status"] == "lapsed"


class TestCutoffWithinADay:
    async def test_reads_before_the_cutoff_go_and_reads_after_stay(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        cutoff = datetime.now(UTC) - timedelta(days=system.runtime("records").settings.active_retention_days)
        before, after = await store_reads(
            [
                {"plate": plate(), "captured_at": cutoff - timedelta(minutes=2)},
                {"plate": plate(), "captured_at": cutoff + timedelta(minutes=2)},
            ]
        )
        await purge(system)
        assert (await where(admin_db, before.read_id))["reads"] == 0
        assert (await where(admin_db, before.read_id))["read_images"] == 0
        assert (await where(admin_db, after.read_id))["reads"] == 1

    async def test_the_plate_day_map_keeps_no_day_past_the_cutoff(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        # its month partitions go only once the whole month is past the cutoff: up to a month too long (B1)
        cutoff = datetime.now(UTC) - timedelta(days=system.runtime("records").settings.active_retention_days)
        (gone,) = await store_reads([{"plate": plate(), "captured_at": cutoff - timedelta(days=2)}])
        (kept,) = await store_reads([{"plate": gone.plate, "captured_at": cutoff + timedelta(minutes=2)}])
        assert len(await plate_days(admin_db, gone.plate)) == 2
        await purge(system)
        assert await plate_days(admin_db, gone.plate) == [kept.captured_at.astimezone(UTC).date()]


class TestUnmatchedCap:
    async def test_b5_drops_reads_that_matched_no_hotlist_after_the_shorter_period(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        rt = system.runtime("records")
        env = {k.removeprefix("ALPR_").lower(): v for k, v in system.stack.env_for("records", http_port=0).items()}
        settings = RecordsSettings(**{**env, "environment": "test", "unmatched_retention_days": 60})
        when = datetime.now(UTC) - timedelta(days=100)
        unmatched, matched = await store_reads(
            [
                {"plate": plate(), "captured_at": when},
                {"plate": plate(), "captured_at": when + timedelta(minutes=1), "hotlist_hit": True},
            ]
        )
        report = await PurgeJob(settings, rt.uow, rt.bus).run(datetime.now(UTC), forced=True)
        assert report.unmatched_purged >= 1
        assert await where(admin_db, unmatched.read_id) == {
            "reads": 0, "read_images": 0, "held_reads": 0, "held_read_images": 0
        }  # fmt: skip
        assert (await where(admin_db, matched.read_id))["reads"] == 1
        for _ in range(100):  # published after commit; the audit writer persists it a moment later
            conn = await admin_db()
            try:
                found = await conn.fetchval(
                    "SELECT count(*) FROM audit.access_records WHERE event_id = $1", report.certificate_id
                )
            finally:
                await conn.close()
            if found:
                break
            await asyncio.sleep(0.05)
        details = await certificate(admin_db, report.certificate_id or "")
        assert details["unmatched_purged"] == report.unmatched_purged
        assert "unmatched_before" in details["range"]

    async def test_a_read_back_filled_behind_an_earlier_pass_is_capped_by_the_next(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        # a camera that was offline for months uploads its reads: ingest takes anything inside retention, so
        # a read captured 100 days ago can land after a B5 pass has moved past its day (found by a red team)
        job = b5_job(system)
        await job.run(datetime.now(UTC), forced=True)
        late, hit = await store_reads(
            [
                {"plate": plate(), "captured_at": datetime.now(UTC) - timedelta(days=100)},
                {"plate": plate(), "captured_at": datetime.now(UTC) - timedelta(days=100), "hotlist_hit": True},
            ]
        )
        report = await job.run(datetime.now(UTC), forced=True)
        assert report.unmatched_purged >= 1
        assert (await where(admin_db, late.read_id))["reads"] == 0
        assert (await where(admin_db, hit.read_id))["reads"] == 1

    async def test_the_plate_day_map_forgets_a_capped_read_and_keeps_a_hit(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        # "plate P was read on day D" is itself what B5 caps: the map may not outlive the read it stands for
        job = b5_job(system)
        when = datetime.now(UTC) - timedelta(days=100)
        late, hit = await store_reads(
            [{"plate": plate(), "captured_at": when}, {"plate": plate(), "captured_at": when, "hotlist_hit": True}]
        )
        assert await plate_days(admin_db, late.plate) == [when.date()]
        await job.run(datetime.now(UTC), forced=True)
        assert await plate_days(admin_db, late.plate) == []
        assert await plate_days(admin_db, hit.plate) == [when.date()]

    async def test_a_kept_read_keeps_the_plate_day_of_our_own_reading(
        self, system: Any, store_reads: Any, admin_db: Any
    ) -> None:
        # the map names our recognizer's plate too (migration 0006): an exact search for it probes that day
        job = b5_job(system)
        when, ours = datetime.now(UTC) - timedelta(days=100), plate()
        (hit,) = await store_reads([{"plate": plate(), "captured_at": when, "hotlist_hit": True}])
        conn = await admin_db()
        try:  # as ingest stores a read whose plate our recognizer reads otherwise
            await conn.execute("UPDATE records.reads SET our_plate = $2 WHERE read_id = $1::uuid", hit.read_id, ours)
            await conn.execute("INSERT INTO records.read_plate_days VALUES ($1, $2)", ours, when.date())
        finally:
            await conn.close()
        await job.run(datetime.now(UTC), forced=True)
        assert await plate_days(admin_db, ours) == [when.date()]


class TestOneRunnerAndLimits:
    async def test_a_second_runner_skips_while_the_lock_is_held(self, system: Any, admin_db: Any) -> None:
        rt = system.runtime("records")
        conn = await admin_db()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", PURGE_LOCK)
            report = await PurgeJob(rt.settings, rt.uow, rt.bus).run(datetime.now(UTC))
            await conn.execute("SELECT pg_advisory_unlock($1)", PURGE_LOCK)
        finally:
            await conn.close()
        assert report.ran is False and report.certificate_id is None

    async def test_a_hold_is_not_approved_while_a_purge_runs(self, system: Any, admin_db: Any) -> None:
        # the purge copies what active holds keep, then drops the day: an approval between the two would
        # answer "active" for reads already gone (found by a red team), so it is refused until the purge ends
        body = {
            "use": "wanted_suspect",
            "case_number": case_number(),
            "justification": JUSTIFICATION,
            "review_date": (date.today() + timedelta(days=90)).isoformat(),
            "plate": plate(),
            "since": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
            "until": datetime.now(UTC).isoformat(),
        }
        requested = await system.gateway.post("/v1/holds", json=body, headers=system.token("officer"))
        assert requested.status_code == 201, requested.text
        decide = f"/v1/holds/{requested.json()['hold_id']}/decision"
        conn = await admin_db()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", PURGE_LOCK)
            refused = await system.gateway.post(decide, json={"approve": True}, headers=system.token("supervisor"))
            await conn.execute("SELECT pg_advisory_unlock($1)", PURGE_LOCK)
        finally:
            await conn.close()
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "purge_running", refused.text
        approved = await system.gateway.post(decide, json={"approve": True}, headers=system.token("supervisor"))
        assert approved.status_code == 200 and approved.json()["status"] == "active", approved.text

    async def test_a_purge_cannot_be_asked_to_run_ahead_of_time(self, system: Any) -> None:
        from libs.common.errors import InvalidInput

        with pytest.raises(InvalidInput) as refused:
            await system.runtime("gateway").bus.call(PURGE, PurgeRequest(now=datetime.now(UTC) + timedelta(days=30)))
        assert refused.value.code == "purge_in_future"

    async def test_a_retention_of_400_days_is_refused_at_start_up(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ALPR_RETENTION_DAYS", "400")
        with pytest.raises(ValidationError, match=r"ALPR_RETENTION_DAYS must be 1\.\.365"):
            RecordsSettings(database_url="postgresql+asyncpg://x@localhost/alpr")
        assert RecordsSettings(database_url="postgresql+asyncpg://x@localhost/alpr", retention_days=365)
