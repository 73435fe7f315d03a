"""Issue #22 item 3: partners get the officers' purpose rules, and their agency's case-number format."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

OWN_FORMAT = r"^SO-[0-9]{2}-[0-9]{3,8}$"


def unique_plate() -> str:
    return "5" + uuid.uuid4().hex[:6].upper().replace("O", "0")


async def search(system, partners, setup: dict[str, Any], **purpose: str):  # type: ignore[no-untyped-def]
    token = await partners.token(setup)
    body = partners.search_body(setup["ori"], unique_plate())
    body["purpose"] = {**body["purpose"], **purpose}
    return await system.gateway.post("/partner/v1/searches", json=body, headers={"Authorization": f"Bearer {token}"})


class TestSameRulesAsOfficers:
    async def test_case_number_1_and_reason_x_are_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        response = await search(system, partners, setup, case_number="1", reason="x")
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] in {"reason_too_short", "invalid_case_number"}
        assert "reads" not in response.json()

    async def test_empty_talk_is_vague(self, system, partners) -> None:
        setup = await partners.shared_client()
        response = await search(system, partners, setup, reason="asdf qwer zxcv uiop hjkl")
        assert response.status_code == 422 and response.json()["error"]["code"] == "reason_vague"

    async def test_a_full_width_case_number_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        response = await search(system, partners, setup, case_number="SC-２０２６-１１８７")
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_case_number"

    async def test_a_prohibited_purpose_is_refused_and_flagged(self, system, partners) -> None:
        setup = await partners.with_client()
        response = await search(system, partners, setup, reason="Find who drove to the Planned Parenthood clinic")
        assert response.status_code == 403 and response.json()["error"]["code"] == "prohibited_purpose"
        mine: list[dict[str, Any]] = []
        for _ in range(100):  # the refusal's record is persisted by the audit writer a moment after the answer
            listing = await system.gateway.get("/v1/admin/flags", headers=system.token("admin"))
            assert listing.status_code == 200, listing.text
            mine = [f for f in listing.json()["flags"] if f["actor"]["sub"] == setup["client_id"]]
            if mine:
                break
            await asyncio.sleep(0.05)
        assert len(mine) == 1 and mine[0]["refusal"] == "prohibited_purpose"

    async def test_a_lawful_reason_with_a_sensitive_word_is_answered(self, system, partners) -> None:
        setup = await partners.shared_client()
        reason = "Pregnant victim of a carjacking, suspect fled in her car"
        response = await search(system, partners, setup, reason=reason)
        assert response.status_code == 200, response.text


class TestAgreementCaseNumberFormat:
    async def test_an_agreement_carries_its_partners_format(self, system, partners) -> None:
        setup = await partners.shared_client(case_number_pattern=OWN_FORMAT)
        ours = await search(system, partners, setup, case_number="SO-26-4471")
        assert ours.status_code == 200, ours.text
        departments = await search(system, partners, setup, case_number="SC-2026-1187")
        assert departments.status_code == 422 and departments.json()["error"]["code"] == "invalid_case_number"

    async def test_without_one_the_departments_format_applies(self, system, partners) -> None:
        setup = await partners.shared_client()
        response = await search(system, partners, setup, case_number="SO-26-4471")
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_case_number"

    async def test_the_pattern_is_shown_with_the_agreement(self, system, partners) -> None:
        setup = await partners.shared_client(case_number_pattern=OWN_FORMAT)
        listing = await system.gateway.get("/v1/admin/agreements", headers=system.token("admin"))
        assert listing.status_code == 200, listing.text
        mine = [a for a in listing.json()["agreements"] if a["id"] == setup["agreement_id"]]
        assert mine and mine[0]["case_number_pattern"] == OWN_FORMAT

    @pytest.mark.parametrize("pattern", [r"^(\d+)+$", "("])
    async def test_an_unsafe_or_broken_pattern_is_refused(self, system, partners, pattern: str) -> None:
        ori = await partners.partner()
        response = await system.gateway.post(
            "/v1/admin/agreements",
            json=partners.terms(ori, case_number_pattern=pattern),
            headers=system.token("admin"),
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_agreement"
