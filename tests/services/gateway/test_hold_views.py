"""Looking at legal holds is an access: a case's holds under its purpose, or every hold under review."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest

from tests.services.gateway.test_holds_routes import hold_body, request_hold

pytestmark = pytest.mark.asyncio(loop_scope="session")

REASON = "Armed robbery series on Story Road: checking what this case already holds"
REVIEW = {"use": "hold_review", "reason": "Monthly supervisor review of pending and active legal holds"}


def case_purpose(case_number: str) -> dict[str, str]:
    return {"use": "wanted_suspect", "case_number": case_number, "reason": REASON}


async def view_records(system: Any, event_type: str, marker: str) -> list[dict[str, Any]]:
    """The records of that type whose payload mentions the marker (a hold id or a reason)."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(100):
            rows = await conn.fetch(
                "SELECT actor, payload FROM audit.access_records WHERE event_type = $1 "
                "AND strpos(payload, $2) > 0 ORDER BY seq",
                event_type,
                marker,
            )
            if rows:
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    return [{"actor": json.loads(r["actor"]), **json.loads(r["payload"])} for r in rows]


async def two_holds(system: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two officers' holds in two different cases."""
    mine = await request_hold(system)
    theirs = await system.gateway.post("/v1/holds", json=hold_body(), headers=system.token("analyst"))
    assert mine.status_code == 201 and theirs.status_code == 201, (mine.text, theirs.text)
    return mine.json(), theirs.json()


class TestACasesHolds:
    async def test_listing_needs_a_purpose(self, system: Any) -> None:
        bare = await system.gateway.get("/v1/holds", headers=system.token("officer"))
        assert bare.status_code == 422, bare.text
        no_case = await system.gateway.get(
            "/v1/holds", params={"use": "wanted_suspect", "reason": REASON}, headers=system.token("officer")
        )
        assert no_case.status_code == 422 and no_case.json()["error"]["code"] == "purpose_required"

    async def test_an_officer_sees_only_the_case_named_and_the_view_is_recorded(self, system: Any) -> None:
        mine, theirs = await two_holds(system)
        listed = await system.gateway.get(
            "/v1/holds", params=case_purpose(mine["case_number"]), headers=system.token("officer")
        )
        assert listed.status_code == 200, listed.text
        assert [h["hold_id"] for h in listed.json()["holds"]] == [mine["hold_id"]]
        [record] = await view_records(system, "hold_view", mine["hold_id"])
        assert record["actor"]["sub"] == "dev-officer" and record["details"]["route"] == "hold_list"
        assert record["purpose"] == case_purpose(mine["case_number"])
        assert record["result_ids"] == [mine["hold_id"]] and record["query"]["case_number"] == mine["case_number"]
        assert theirs["case_number"] not in json.dumps(record)

    async def test_detail_of_the_case_named_is_recorded(self, system: Any) -> None:
        mine, _ = await two_holds(system)
        shown = await system.gateway.get(
            f"/v1/holds/{mine['hold_id']}", params=case_purpose(mine["case_number"]), headers=system.token("officer")
        )
        assert shown.status_code == 200 and shown.json()["justification"] == mine["justification"]
        [record] = await view_records(system, "hold_view", mine["hold_id"])
        assert record["details"]["route"] == "hold_detail" and record["purpose"]["reason"] == REASON

    async def test_another_cases_hold_is_not_shown_and_the_attempt_is_recorded(self, system: Any) -> None:
        mine, theirs = await two_holds(system)
        # naming one's own case does not open a hold of another case
        peek = await system.gateway.get(
            f"/v1/holds/{theirs['hold_id']}", params=case_purpose(mine["case_number"]), headers=system.token("officer")
        )
        assert peek.status_code == 404 and peek.json()["error"]["code"] == "hold_not_found"
        assert theirs["justification"] not in peek.text
        [denied] = await view_records(system, "access_denied", theirs["hold_id"])
        assert denied["outcome"] == "denied" and denied["details"]["refusal"] == "hold_not_in_case"
        assert await view_records(system, "hold_view", theirs["hold_id"]) == []

    async def test_a_prohibited_purpose_is_refused_and_flagged(self, system: Any) -> None:
        mine, _ = await two_holds(system)
        purpose = {**case_purpose(mine["case_number"]), "reason": "Find the owner so ICE can deport him"}
        refused = await system.gateway.get("/v1/holds", params=purpose, headers=system.token("officer"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "prohibited_purpose"
        [denied] = await view_records(system, "access_denied", "so ICE can deport him")
        assert denied["details"]["flag_admins_and_auditors"] is True and denied["details"]["route"] == "hold_view"

    async def test_an_officer_may_not_review_every_hold(self, system: Any) -> None:
        refused = await system.gateway.get("/v1/holds", params=REVIEW, headers=system.token("officer"))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "hold_review_forbidden"


class TestReview:
    @pytest.mark.parametrize("role", ["supervisor", "custodian"])
    async def test_a_review_lists_every_case_and_is_recorded_with_its_reason(self, system: Any, role: str) -> None:
        mine, theirs = await two_holds(system)
        reason = f"{REVIEW['reason']} by the {role}"
        listed = await system.gateway.get(
            "/v1/holds", params={**REVIEW, "reason": reason, "status": "pending"}, headers=system.token(role)
        )
        assert listed.status_code == 200, listed.text
        assert {mine["hold_id"], theirs["hold_id"]} <= {h["hold_id"] for h in listed.json()["holds"]}
        [record] = await view_records(system, "hold_view", reason)
        assert record["details"]["review"] == {"use": "hold_review", "reason": reason}
        assert record["purpose"] is None and record["query"] == {"status": "pending"}
        assert mine["hold_id"] in record["result_ids"]

    @pytest.mark.parametrize(
        ("reason", "code"), [("review", "reason_too_short"), ("asdf qwer zxcv uiop hjkl asdf", "reason_vague")]
    )
    async def test_a_review_needs_a_reason_with_content(self, system: Any, reason: str, code: str) -> None:
        refused = await system.gateway.get(
            "/v1/holds", params={"use": "hold_review", "reason": reason}, headers=system.token("supervisor")
        )
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code
        missing = await system.gateway.get(
            "/v1/holds", params={"use": "hold_review"}, headers=system.token("supervisor")
        )
        assert missing.status_code == 422

    async def test_a_reviewed_hold_detail_is_recorded(self, system: Any) -> None:
        _, theirs = await two_holds(system)
        shown = await system.gateway.get(
            f"/v1/holds/{theirs['hold_id']}", params=REVIEW, headers=system.token("supervisor")
        )
        assert shown.status_code == 200 and shown.json()["case_number"] == theirs["case_number"]
        [record] = await view_records(system, "hold_view", theirs["hold_id"])
        assert record["actor"]["sub"] == "dev-supervisor" and record["details"]["review"]["use"] == "hold_review"

    async def test_the_auditor_reads_holds_from_the_log_not_here(self, system: Any) -> None:
        refused = await system.gateway.get("/v1/holds", params=REVIEW, headers=system.token("auditor"))
        assert refused.status_code == 403


class TestTheCustodiansReview:
    """The custodian oversees retention: reviews every hold (recorded) but never decides or ends one."""

    CUSTODIAN_REVIEW = {"use": "hold_review", "reason": "Custodian's quarterly review of legal holds and their dates"}

    async def test_every_status_and_detail_under_review_each_recorded(self, system: Any) -> None:
        from tests.services.gateway.test_holds_routes import decide

        mine, theirs = await two_holds(system)
        approved = await decide(system, theirs["hold_id"], system.token("supervisor"))
        assert approved.status_code == 200, approved.text
        headers = system.token("custodian")
        listed = await system.gateway.get("/v1/holds", params=self.CUSTODIAN_REVIEW, headers=headers)
        assert listed.status_code == 200, listed.text
        statuses = {h["hold_id"]: h["status"] for h in listed.json()["holds"]}
        assert statuses[mine["hold_id"]] == "pending" and statuses[theirs["hold_id"]] == "active"
        shown = await system.gateway.get(
            f"/v1/holds/{theirs['hold_id']}", params=self.CUSTODIAN_REVIEW, headers=headers
        )
        assert shown.status_code == 200 and shown.json()["case_number"] == theirs["case_number"]
        records = await view_records(system, "hold_view", theirs["hold_id"])
        assert {r["details"]["route"] for r in records if r["actor"]["sub"] == "dev-custodian"} == {
            "hold_list",
            "hold_detail",
        }
        assert all(r["details"]["review"]["use"] == "hold_review" for r in records)

    async def test_pages_newest_first_without_gaps(self, system: Any) -> None:
        made = [(await request_hold(system)).json()["hold_id"] for _ in range(3)]
        headers, seen = system.token("custodian"), list[str]()
        params: dict[str, Any] = {**self.CUSTODIAN_REVIEW, "status": "pending", "limit": 2}
        while len([h for h in seen if h in made]) < 3:
            page = await system.gateway.get("/v1/holds", params=params, headers=headers)
            assert page.status_code == 200, page.text
            seen += [h["hold_id"] for h in page.json()["holds"]]
            assert page.json()["next_before"], "the pages ended before the three new holds were seen"
            params["before"] = page.json()["next_before"]
        assert [h for h in seen if h in made] == made[::-1] and len(seen) == len(set(seen))
        for bad in ({"limit": 0}, {"limit": 501}, {"before": "nope"}):
            refused = await system.gateway.get("/v1/holds", params={**self.CUSTODIAN_REVIEW, **bad}, headers=headers)
            assert refused.status_code == 422, (bad, refused.text)

    async def test_the_custodian_decides_and_ends_no_hold(self, system: Any) -> None:
        from tests.services.gateway.test_holds_routes import decide

        mine, _ = await two_holds(system)
        refused = await decide(system, mine["hold_id"], system.token("custodian"))
        assert refused.status_code == 403, refused.text
        ended = await system.gateway.post(
            f"/v1/holds/{mine['hold_id']}/release",
            json={"reason": "Custodian thinks the case is closed"},
            headers=system.token("custodian"),
        )
        assert ended.status_code == 403, ended.text
        shown = await system.gateway.get(
            f"/v1/holds/{mine['hold_id']}", params=self.CUSTODIAN_REVIEW, headers=system.token("custodian")
        )
        assert shown.json()["status"] == "pending"
