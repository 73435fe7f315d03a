"""Partner searches end to end: narrowed by the agreement, in the share ledger and the audit log."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.utils.corrections import image_view, read_with_image

pytestmark = pytest.mark.asyncio(loop_scope="session")


def unique_plate() -> str:
    return "6" + uuid.uuid4().hex[:6].upper().replace("O", "0")


async def stored_read(system, plate: str, *, hours_ago: float = 1.0) -> str:  # type: ignore[no-untyped-def]
    """Post a read as the development camera and wait until records has committed it."""
    body = {
        "plate": plate,
        "captured_at": (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(),
        "latitude": 37.33,
        "longitude": -121.88,
        "confidence": 0.93,
    }
    posted = await system.gateway.post("/v1/reads", json=body, headers=system.camera)
    assert posted.status_code == 202, posted.text
    read_id = str(posted.json()["read_ids"][0])
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(200):
            if await conn.fetchval("SELECT count(*) FROM records.reads WHERE read_id = $1::uuid", read_id):
                return read_id
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    raise AssertionError("the read was not stored")


async def fetchrow(system, sql: str, *args):  # type: ignore[no-untyped-def]
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()


async def search(system, token: str, body):  # type: ignore[no-untyped-def]
    return await system.gateway.post("/partner/v1/searches", json=body, headers={"Authorization": f"Bearer {token}"})


class TestPartnerSearch:
    async def test_returns_reads_with_a_ledger_entry_and_a_persisted_access_record(self, system, partners) -> None:
        plate = unique_plate()
        read_id = await stored_read(system, plate)
        setup = await partners.shared_client()
        token = await partners.token(setup)
        response = await search(system, token, partners.search_body(setup["ori"], plate))
        assert response.status_code == 200, response.text
        result = response.json()
        assert [r["read_id"] for r in result["reads"]] == [read_id]
        assert result["agreement_id"] == setup["agreement_id"]

        ledger = await fetchrow(
            system, "SELECT * FROM sharing.share_ledger WHERE query ->> 'search_id' = $1", result["search_id"]
        )
        assert ledger is not None
        assert ledger["agreement_id"] == setup["agreement_id"] and ledger["partner_ori"] == setup["ori"]
        assert json.loads(ledger["requester"])["badge"] == "4412"
        assert json.loads(ledger["purpose"])["case_number"] == "SC-2026-1187"
        assert list(ledger["result_ids"]) == [read_id]

        record = await fetchrow(system, "SELECT * FROM audit.access_records WHERE event_id = $1", result["search_id"])
        assert record is not None and record["event_type"] == "partner_query"
        actor, payload = json.loads(record["actor"]), json.loads(record["payload"])
        assert actor["kind"] == "partner" and actor["name"] == "Det. R. Diaz" and actor["agency"] == setup["ori"]
        assert payload["purpose"]["use"] == "stolen_or_wanted_vehicle"
        assert payload["query"]["plate"] == plate and payload["query"]["on_behalf_of"]["ori"] == setup["ori"]
        assert payload["result_ids"] == [read_id] and payload["client_address"] == "203.0.113.7"

    async def test_a_corrected_read_says_so_but_not_which_of_our_rows_it_replaced(self, system, partners) -> None:
        # a corrected sighting is marked (version), the earlier version's id stays ours (found in review)
        plate = unique_plate()
        read_id = await read_with_image(system, plate + "X")
        fix = {"plate": plate, "reason": "The image shows an 8 where the reader gave a B"}
        fix["image_view_id"] = await image_view(system, read_id)
        corrected = await system.gateway.post(
            f"/v1/reads/{read_id}/corrections", json=fix, headers=system.token("officer")
        )
        assert corrected.status_code == 201, corrected.text
        setup = await partners.shared_client()
        response = await search(system, await partners.token(setup), partners.search_body(setup["ori"], plate))
        assert response.status_code == 200, response.text
        (found,) = response.json()["reads"]
        assert found["read_id"] == corrected.json()["read_id"]
        assert (found["version"], found["supersedes"]) == (2, None)

    async def test_a_window_beyond_the_look_back_is_narrowed(self, system, partners) -> None:
        setup = await partners.shared_client(max_lookback_days=7)
        token = await partners.token(setup)
        since = datetime.now(UTC) - timedelta(days=60)
        body = partners.search_body(setup["ori"], unique_plate(), since=since.isoformat())
        response = await search(system, token, body)
        assert response.status_code == 200, response.text
        earliest = datetime.fromisoformat(response.json()["since"])
        assert response.json()["narrowed"] is True
        assert abs(earliest - (datetime.now(UTC) - timedelta(days=7))) < timedelta(minutes=1)


class TestRefusals:
    async def test_a_window_wholly_beyond_the_look_back_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client(max_lookback_days=7)
        token = await partners.token(setup)
        now = datetime.now(UTC)
        body = partners.search_body(
            setup["ori"],
            unique_plate(),
            since=(now - timedelta(days=30)).isoformat(),
            until=(now - timedelta(days=20)).isoformat(),
        )
        response = await search(system, token, body)
        assert response.status_code == 403 and response.json()["error"]["code"] == "lookback_exceeded"

    async def test_a_use_the_agreement_does_not_allow_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client(allowed_uses=["at_risk_missing_person"])
        token = await partners.token(setup)
        response = await search(system, token, partners.search_body(setup["ori"], unique_plate()))
        assert response.status_code == 403 and response.json()["error"]["code"] == "use_not_allowed"
        refused = None
        for _ in range(100):  # a refusal is recorded without waiting for the audit service
            refused = await fetchrow(
                system,
                "SELECT payload FROM audit.access_records WHERE event_type = 'access_denied' "
                "AND payload::jsonb -> 'details' ->> 'agreement_id' = $1",
                setup["agreement_id"],
            )
            if refused is not None:
                break
            await asyncio.sleep(0.05)
        assert refused is not None
        assert json.loads(refused["payload"])["details"]["refusal"] == "use_not_allowed"

    async def test_a_search_outside_the_agreement_scope_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client(scopes=["hotlists:read"])
        token = await partners.token(setup)
        response = await search(system, token, partners.search_body(setup["ori"], unique_plate()))
        assert response.status_code == 403 and response.json()["error"]["code"] == "scope_not_granted"

    async def test_a_search_outside_the_token_scope_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup, scope="hotlists:read")
        response = await search(system, token, partners.search_body(setup["ori"], unique_plate()))
        assert response.status_code == 403 and response.json()["error"]["code"] == "scope_not_granted"

    @pytest.mark.parametrize(
        ("ori", "name"),
        [("NV0020000", "Las Vegas Metropolitan Police"), ("CA0419000", "U.S. Marshals Service")],
        ids=["out-of-state", "federal"],
    )
    async def test_a_search_for_an_ineligible_agency_is_refused(self, system, partners, ori, name) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        body = partners.search_body(setup["ori"], unique_plate(), on_behalf_of={"ori": ori, "name": name})
        response = await search(system, token, body)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "beneficiary_not_california_public"

    async def test_a_prohibited_purpose_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        purpose = {"use": "wanted_suspect", "case_number": "SC-2026-1", "reason": "Immigration detainer follow-up"}
        body = partners.search_body(setup["ori"], unique_plate(), purpose=purpose)
        response = await search(system, token, body)
        assert response.status_code == 403 and response.json()["error"]["code"] == "prohibited_purpose"


class TestPlateAfterSeparators:
    @pytest.mark.parametrize("asked", ["--", "- -", "\u00a0-\u00a0", "._", "A-", "-7-"])
    async def test_a_plate_of_fewer_than_two_characters_once_separators_go_is_refused(
        self, system, partners, asked
    ) -> None:
        # "--" passed the contract's two-character minimum and searched with no plate: every car's reads
        other = await stored_read(system, unique_plate())
        setup = await partners.shared_client()
        token = await partners.token(setup)
        response = await search(system, token, partners.search_body(setup["ori"], asked, limit=500))
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "plate_too_short"
        assert other not in response.text

    async def test_a_plate_written_with_separators_still_finds_its_reads(self, system, partners) -> None:
        plate = unique_plate()
        read_id = await stored_read(system, plate)
        setup = await partners.shared_client()
        token = await partners.token(setup)
        spaced = f"{plate[:3]}\u00a0{plate[3:5].lower()}-{plate[5:]}"
        response = await search(system, token, partners.search_body(setup["ori"], spaced))
        assert response.status_code == 200, response.text
        assert [r["read_id"] for r in response.json()["reads"]] == [read_id]


class TestNonConfirmation:
    async def test_an_ineligible_beneficiary_gets_the_same_answer_whether_or_not_data_exists(
        self, system, partners
    ) -> None:
        known = unique_plate()
        await stored_read(system, known)
        setup = await partners.shared_client()
        token = await partners.token(setup)
        federal = {"ori": "CA0419000", "name": "Drug Enforcement Administration"}
        answers = [
            await search(system, token, partners.search_body(setup["ori"], plate, on_behalf_of=federal))
            for plate in (known, unique_plate())
        ]
        assert answers[0].status_code == answers[1].status_code == 403
        assert answers[0].content == answers[1].content

    async def test_a_revoked_partner_gets_the_same_answer_whether_or_not_data_exists(self, system, partners) -> None:
        known = unique_plate()
        await stored_read(system, known)
        setup = await partners.with_client()
        token = await partners.token(setup)
        await partners.revoke(setup["agreement_id"])
        answers = [
            await search(system, token, partners.search_body(setup["ori"], plate)) for plate in (known, unique_plate())
        ]
        assert answers[0].status_code == answers[1].status_code == 401
        assert answers[0].content == answers[1].content
        assert answers[0].headers["www-authenticate"] == answers[1].headers["www-authenticate"]
        ledger = await fetchrow(
            system, "SELECT count(*) AS n FROM sharing.share_ledger WHERE agreement_id = $1", setup["agreement_id"]
        )
        assert ledger["n"] == 0
