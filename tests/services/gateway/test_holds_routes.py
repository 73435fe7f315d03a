"""Legal-hold routes: what a hold must name, the two-person rule, who may end it, and the audit trail."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

JUSTIFICATION = "Vehicle seen leaving two armed robberies on Story Road; owner is a named suspect"
# looking at holds is an access of its own (test_hold_views.py); a supervisor's look is a review
REVIEW = {"use": "hold_review", "reason": "Supervisor review of the holds awaiting a decision"}


def hold_body(**overrides: Any) -> dict[str, Any]:
    return {
        "use": "wanted_suspect",
        "case_number": f"SJ-2026-{uuid.uuid4().int % 10**6:06d}",
        "justification": JUSTIFICATION,
        "review_date": (date.today() + timedelta(days=60)).isoformat(),
        "plate": "7" + uuid.uuid4().hex[:6].upper(),
        "since": (datetime.now(UTC) - timedelta(days=20)).isoformat(),
        "until": datetime.now(UTC).isoformat(),
        **overrides,
    }


async def request_hold(system: Any, role: str = "officer", **overrides: Any) -> Any:
    return await system.gateway.post("/v1/holds", json=hold_body(**overrides), headers=system.token(role))


async def decide(system: Any, hold_id: str, headers: dict[str, str], approve: bool = True) -> Any:
    body = {"decision": "approve" if approve else "deny", "reason": "Case file and suspicion checked"}
    return await system.gateway.post(f"/v1/holds/{hold_id}/decision", json=body, headers=headers)


async def hold_events(system: Any, hold_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(100):
            rows = await conn.fetch(
                "SELECT actor, payload FROM audit.access_records WHERE event_type = 'hold_change' "
                "AND (payload::jsonb)->'query'->>'hold_id' = $1 ORDER BY seq",
                hold_id,
            )
            if rows:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return [{"actor": json.loads(r["actor"]), **json.loads(r["payload"])} for r in rows]


@pytest.fixture
async def sergeant(system: Any) -> dict[str, str]:
    """A person who holds both the officer and the supervisor role."""
    sub = f"sgt-{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        await conn.execute(
            "INSERT INTO gateway.persons (sub, name, badge, agency, unit, roles, user_class, status, "
            "training_expires_at, last_active_at, approved_by) VALUES ($1, 'Sgt Two Hats', '7001', 'CA0430000', "
            "'BFO', $2, 'sworn', 'active', $3, now(), 'test')",
            sub,
            ["officer", "supervisor"],
            datetime.now(UTC) + timedelta(days=365),
        )
    finally:
        await conn.close()
    return system.token("officer", sub=sub)  # type: ignore[no-any-return]


class TestRequestingAHold:
    async def test_a_request_is_pending_and_audited(self, system: Any) -> None:
        response = await request_hold(system)
        assert response.status_code == 201, response.text
        hold = response.json()
        assert hold["status"] == "pending" and hold["requester_sub"] == "dev-officer"
        events = await hold_events(system, hold["hold_id"])
        assert [e["details"]["action"] for e in events] == ["requested"]
        assert events[0]["actor"]["sub"] == "dev-officer"
        assert events[0]["query"]["case_number"] == hold["case_number"]
        assert events[0]["details"]["justification"] == JUSTIFICATION

    @pytest.mark.parametrize(
        ("overrides", "status", "code"),
        [
            ({"justification": "Seen at two robbery scenes"}, 422, "hold_justification_too_short"),
            ({"review_date": (date.today() - timedelta(days=1)).isoformat()}, 422, "hold_review_date_invalid"),
            ({"review_date": (date.today() + timedelta(days=400)).isoformat()}, 422, "hold_review_date_invalid"),
            ({"plate": None, "read_ids": []}, 422, "hold_selection_required"),
            ({"since": None}, 422, "hold_window_required"),
            ({"case_number": "case 12"}, 422, "invalid_case_number"),
        ],
    )
    async def test_a_hold_must_name_case_justification_review_and_reads(
        self, system: Any, overrides: dict[str, Any], status: int, code: str
    ) -> None:
        response = await request_hold(system, **overrides)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code

    async def test_a_supervisor_or_auditor_cannot_request(self, system: Any) -> None:
        assert (await request_hold(system, "supervisor")).status_code == 403
        assert (await request_hold(system, "auditor")).status_code == 403


class TestTwoPersonRule:
    async def test_the_requester_cannot_approve_their_own_hold(self, system: Any, sergeant: dict[str, str]) -> None:
        requested = await system.gateway.post("/v1/holds", json=hold_body(), headers=sergeant)
        assert requested.status_code == 201, requested.text
        hold_id = requested.json()["hold_id"]
        own = await decide(system, hold_id, sergeant)
        assert own.status_code == 403 and own.json()["error"]["code"] == "hold_same_person"
        still = await system.gateway.get(f"/v1/holds/{hold_id}", params=REVIEW, headers=system.token("supervisor"))
        assert still.json()["status"] == "pending" and still.json()["approver_sub"] is None

        approved = await decide(system, hold_id, system.token("supervisor"))
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "active" and approved.json()["approver_sub"] == "dev-supervisor"
        events = await hold_events(system, hold_id)
        assert [(e["details"]["action"], e["actor"]["sub"]) for e in events] == [
            ("requested", requested.json()["requester_sub"]),
            ("approved", "dev-supervisor"),
        ]

    async def test_an_officer_cannot_approve(self, system: Any) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        refused = await decide(system, hold_id, system.token("officer"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    async def test_a_decided_hold_cannot_be_decided_again(self, system: Any) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        rejected = await decide(system, hold_id, system.token("supervisor"), approve=False)
        assert rejected.json()["status"] == "rejected"
        again = await decide(system, hold_id, system.token("supervisor"))
        assert again.status_code == 409 and again.json()["error"]["code"] == "hold_not_pending"


class TestEndingAHold:
    async def test_only_the_requester_or_a_supervisor_ends_it_and_it_is_audited(self, system: Any) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        await decide(system, hold_id, system.token("supervisor"))
        reason = {"reason": "Suspect arrested and the case is closed"}
        stranger = await system.gateway.post(
            f"/v1/holds/{hold_id}/release", json=reason, headers=system.token("analyst")
        )
        assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "hold_not_yours"
        ended = await system.gateway.post(f"/v1/holds/{hold_id}/release", json=reason, headers=system.token("officer"))
        assert ended.status_code == 200 and ended.json()["status"] == "released"
        assert "dev-officer" in ended.json()["end_reason"]
        twice = await system.gateway.post(
            f"/v1/holds/{hold_id}/release", json=reason, headers=system.token("supervisor")
        )
        assert twice.status_code == 409
        events = await hold_events(system, hold_id)
        assert [e["details"]["action"] for e in events] == ["requested", "approved", "released"]

    async def test_the_auditor_cannot_read_holds_here(self, system: Any) -> None:
        hold_id = (await request_hold(system)).json()["hold_id"]
        auditor = system.token("auditor")
        assert (await system.gateway.get(f"/v1/holds/{hold_id}", params=REVIEW, headers=auditor)).status_code == 403
        pending = {**REVIEW, "status": "pending"}
        listed = await system.gateway.get("/v1/holds", params=pending, headers=system.token("supervisor"))
        assert hold_id in [h["hold_id"] for h in listed.json()["holds"]]
