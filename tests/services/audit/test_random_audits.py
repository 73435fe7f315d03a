"""F1, F2 and A5 for the audit unit: reproducible samples with strata, findings, flags, completeness."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from libs.common.contracts.audit import Actor, EventType
from tests.utils.access_log import full_event, record

pytestmark = pytest.mark.asyncio(loop_scope="session")

# A period no other test writes into; 08:00 UTC is 01:00 in San Jose (off hours), 18:00 UTC is 11:00.
DAY = datetime(2025, 3, 11, tzinfo=UTC)
PERIOD = {"period_start": DAY.isoformat(), "period_end": (DAY + timedelta(days=2)).isoformat()}


def officer(n: int) -> Actor:
    return Actor(kind="person", sub=f"sample-officer-{n}", name=f"Officer {n}", badge=f"S{n}", agency="CA0430000")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def searches(system) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Thirty ordinary daytime searches, two partial plates, one plate searched four times, two at night."""
    made: dict[str, list[str]] = {"ordinary": [], "partial": [], "repeated": [], "night": []}
    plan: list[tuple[str, dict[str, Any], datetime, Actor]] = []
    for n in range(30):
        plan.append(("ordinary", {"plate": f"7DAY{n:03d}"}, DAY + timedelta(hours=18, minutes=n), officer(n % 5)))
    for n in range(2):
        plan.append(
            ("partial", {"plate": f"8PA*{n}", "match": "partial"}, DAY + timedelta(hours=19, minutes=n), officer(1))
        )
    for n in range(4):
        plan.append(("repeated", {"plate": "6REPEAT"}, DAY + timedelta(days=1, hours=17, minutes=n), officer(9)))
    for n in range(2):
        plan.append(("night", {"plate": f"5NITE{n}"}, DAY + timedelta(hours=8, minutes=n), officer(2)))
    for kind, query, at, actor in plan:
        event = full_event(EventType.SEARCH, query=query, occurred_at=at, actor=actor)
        await record(system, event)
        made[kind].append(event.event_id)
    return made


async def draw(system: Any, seed: int | None, **extra: Any) -> dict[str, Any]:
    body = {**PERIOD, "size": 5, "stratum_size": 2, **extra}
    if seed is not None:
        body["seed"] = seed
    response = await system.gateway.post("/v1/audit/samples", json=body, headers=system.token("auditor"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def picked(sample: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["event_id"], item["stratum"]) for item in sample["items"]]


class TestRandomSample:
    async def test_the_same_seed_draws_the_same_sample(self, system, searches) -> None:
        first, second = await draw(system, 1798), await draw(system, 1798)
        assert first["sample_id"] != second["sample_id"]
        assert picked(first) == picked(second)
        assert first["population"] == 38
        other = await draw(system, 90_210)
        assert picked(other) != picked(first)

    async def test_a_recorded_sample_redraws_from_its_seed(self, system, admin_db, searches) -> None:
        sample = await draw(system, None)
        assert (
            await admin_db.fetchval("SELECT seed FROM audit.audit_samples WHERE sample_id = $1", sample["sample_id"])
            == sample["seed"]
        )
        response = await system.gateway.get(
            f"/v1/audit/samples/{sample['sample_id']}", params={"redraw": "true"}, headers=system.token("auditor")
        )
        assert response.json()["reproduced"] is True
        assert picked(response.json()) == picked(sample)

    async def test_strata_hold_the_high_risk_searches(self, system, searches) -> None:
        sample = await draw(system, 7)
        by_stratum: dict[str, set[str]] = {}
        for event_id, stratum in picked(sample):
            by_stratum.setdefault(stratum, set()).add(event_id)
        assert len(by_stratum["random"]) == 5
        assert by_stratum.get("partial_plate", set()) <= set(searches["partial"])
        assert by_stratum.get("repeated_plate", set()) <= set(searches["repeated"])
        assert by_stratum.get("off_hours", set()) <= set(searches["night"])
        # every high-risk search not already drawn at random fills its stratum (two per stratum here)
        for stratum, kind in (("partial_plate", "partial"), ("repeated_plate", "repeated"), ("off_hours", "night")):
            left = set(searches[kind]) - by_stratum["random"]
            assert len(by_stratum.get(stratum, set())) == min(2, len(left))


class TestFindingsAndReport:
    async def test_findings_are_recorded_and_reported(self, system, admin_db, searches) -> None:
        sample = await draw(system, 42)
        auditor = system.token("auditor")
        url = f"/v1/audit/samples/{sample['sample_id']}"
        first, second = sample["items"][0]["event_id"], sample["items"][1]["event_id"]
        for event_id, verdict in ((first, "needs_follow_up"), (second, "compliant"), (first, "violation")):
            response = await system.gateway.post(
                f"{url}/findings",
                json={"event_id": event_id, "verdict": verdict, "notes": "case file checked"},
                headers=auditor,
            )
            assert response.status_code == 201, response.text
        refused = await system.gateway.post(
            f"{url}/findings", json={"event_id": "not-sampled", "verdict": "compliant"}, headers=auditor
        )
        assert refused.status_code == 404
        report = (await system.gateway.get(f"{url}/report", headers=auditor)).json()
        assert report["totals"] == {"compliant": 1, "violation": 1, "needs_follow_up": 0}
        assert report["reviewed"] == 2
        assert len(report["findings"]) == 3  # the superseded finding stays on record
        assert set(report["unreviewed"]) == {i["event_id"] for i in sample["items"]} - {first, second}
        stored = await admin_db.fetch(
            "SELECT verdict, auditor_sub FROM audit.audit_findings WHERE sample_id = $1 ORDER BY recorded_at",
            sample["sample_id"],
        )
        assert [(r["verdict"], r["auditor_sub"]) for r in stored] == [
            ("needs_follow_up", "dev-auditor"),
            ("compliant", "dev-auditor"),
            ("violation", "dev-auditor"),
        ]


class TestAnomalies:
    async def test_repeated_plate_and_off_hours_are_flagged(self, system, searches) -> None:
        response = await system.gateway.get(
            "/v1/audit/anomalies",
            params={"since": PERIOD["period_start"], "until": PERIOD["period_end"]},
            headers=system.token("auditor"),
        )
        assert response.status_code == 200, response.text
        flags = response.json()["flags"]
        repeated = [f for f in flags if f["kind"] == "repeated_plate"]
        assert [(f["actor_sub"], f["plate"], f["count"]) for f in repeated] == [("sample-officer-9", "6REPEAT", 4)]
        night = [f for f in flags if f["kind"] == "off_hours"]
        assert [(f["actor_sub"], set(f["event_ids"])) for f in night] == [("sample-officer-2", set(searches["night"]))]


class TestCompleteness:
    async def test_a_gateway_count_without_records_is_reported(self, system, admin_db) -> None:
        day = date(2001, 9, 3)
        await admin_db.execute(
            "INSERT INTO gateway.access_tally (day, event_type, count) VALUES ($1, 'search', 5)", day
        )
        try:
            response = await system.gateway.get(f"/v1/audit/completeness/{day}", headers=system.token("auditor"))
        finally:
            await admin_db.execute("DELETE FROM gateway.access_tally WHERE day = $1", day)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] is False
        assert body["differences"] == {"search": -5}
        stored = await admin_db.fetchrow("SELECT ok, differences FROM audit.completeness_checks WHERE day = $1", day)
        assert stored["ok"] is False and json.loads(stored["differences"]) == {"search": -5}

    async def test_a_gateway_search_counts_on_both_sides(self, system) -> None:
        today = datetime.now(UTC).date()
        auditor = system.token("auditor")
        before = (await system.gateway.get(f"/v1/audit/completeness/{today}", headers=auditor)).json()
        now = datetime.now(UTC)
        body = {
            "query": {"plate": "7CMPLT1", "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()},
            "purpose": {
                "use": "wanted_suspect",
                "case_number": "SJ-2026-000901",
                "reason": "Carjacking suspect seen leaving in this vehicle",
            },
        }
        response = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
        assert response.status_code == 200, response.text
        after = (await system.gateway.get(f"/v1/audit/completeness/{today}", headers=auditor)).json()
        assert after["gateway"].get("search", 0) == before["gateway"].get("search", 0) + 1
        assert after["audit_log"].get("search", 0) == before["audit_log"].get("search", 0) + 1
        assert after["differences"].get("search", 0) == before["differences"].get("search", 0)

    async def test_the_daily_check_runs_once_for_yesterday(self, system, admin_db) -> None:
        from services.audit.app import _check_yesterday

        runtime = system.runtime("audit")
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
        await _check_yesterday(runtime.uow, runtime.auditors)
        await _check_yesterday(runtime.uow, runtime.auditors)
        rows = await admin_db.fetch("SELECT ok FROM audit.completeness_checks WHERE day = $1", yesterday)
        assert len(rows) == 1
