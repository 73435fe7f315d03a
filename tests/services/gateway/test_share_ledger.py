"""The custodian's desk, sharing side: the share ledger (C4) filtered, paged, exported as safe CSV; reads recorded."""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.services.gateway.test_hold_views import view_records

pytestmark = pytest.mark.asyncio(loop_scope="session")

LEDGER = "/v1/admin/share-ledger"
HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def ori() -> str:
    return "CA" + "".join(random.choices("0123456789", k=7))


async def shares(system: Any, entries: list[dict[str, Any]]) -> list[int]:
    """Ledger entries as a partner search writes them, at the times given; their ids, in order."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        ids = []
        for e in entries:
            ids.append(
                await conn.fetchval(
                    "INSERT INTO sharing.share_ledger (at, agreement_id, agreement_version, partner_ori, client_id, "
                    "action, requester, on_behalf_of, purpose, query, result_ids) VALUES ($1, $2, 1, $3, 'cl-1', "
                    "'search', $4, $5, $6, $7, $8) RETURNING id",
                    e["at"],
                    e["agreement_id"],
                    e["partner_ori"],
                    json.dumps({"name": e.get("name", "Det. A. Partner"), "badge": "77"}),
                    json.dumps({"ori": e["partner_ori"], "name": "Partner County Sheriff"}),
                    json.dumps({"use": "stolen_vehicle", "case_number": "SC-2026-1", "reason": e.get("reason", "r")}),
                    json.dumps({"plate": "8ABC123", "match": "exact"}),
                    e.get("result_ids", [str(uuid.uuid4())]),
                )
            )
        return ids
    finally:
        await conn.close()


def entry(agreement: str, agency: str, at: datetime, **more: Any) -> dict[str, Any]:
    return {"agreement_id": agreement, "partner_ori": agency, "at": at, **more}


class TestReadingTheLedger:
    @pytest.mark.parametrize("role", ["custodian", "auditor"])
    async def test_an_agreements_entries_newest_first_and_the_read_is_recorded(self, system: Any, role: str) -> None:
        agreement, now = f"AG-{uuid.uuid4().hex[:8]}", datetime.now(UTC)
        ids = await shares(system, [entry(agreement, ori(), now - timedelta(minutes=m)) for m in (3, 2, 1)])
        listed = await system.gateway.get(LEDGER, params={"agreement_id": agreement}, headers=system.token(role))
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert [e["id"] for e in page["entries"]] == ids[::-1] and page["next_before_id"] is None
        assert page["entries"][0]["requester"]["badge"] == "77" and page["entries"][0]["result_count"] == 1
        [record] = await view_records(system, "audit_access", agreement)
        assert record["actor"]["sub"] == f"dev-{role}" and record["details"]["route"] == "share_ledger"
        assert record["result_ids"] == [str(i) for i in ids[::-1]] and record["query"]["agreement_id"] == agreement

    async def test_filters_by_agency_and_period_and_pages(self, system: Any) -> None:
        agreement, agency, other, now = f"AG-{uuid.uuid4().hex[:8]}", ori(), ori(), datetime.now(UTC)
        old, mid, new, elsewhere = await shares(
            system,
            [
                entry(agreement, agency, now - timedelta(days=40)),
                entry(agreement, agency, now - timedelta(days=10)),
                entry(agreement, agency, now - timedelta(days=1)),
                entry(f"AG-{uuid.uuid4().hex[:8]}", other, now - timedelta(days=10)),
            ],
        )
        headers = system.token("custodian")

        async def ids(**params: Any) -> list[int]:
            got = await system.gateway.get(LEDGER, params=params, headers=headers)
            assert got.status_code == 200, got.text
            return [e["id"] for e in got.json()["entries"]]

        assert await ids(agency=agency) == [new, mid, old]
        assert await ids(agency=other) == [elsewhere]
        window = {"since": (now - timedelta(days=20)).isoformat(), "until": (now - timedelta(days=5)).isoformat()}
        assert await ids(agency=agency, **window) == [mid]
        assert elsewhere in await ids(**window) and old not in await ids(**window)
        first = (await system.gateway.get(LEDGER, params={"agency": agency, "limit": 2}, headers=headers)).json()
        assert [e["id"] for e in first["entries"]] == [new, mid] and first["next_before_id"] == mid
        assert await ids(agency=agency, before_id=first["next_before_id"]) == [old]

    @pytest.mark.parametrize("role", ["officer", "analyst", "supervisor", "admin"])
    async def test_others_are_refused(self, system: Any, role: str) -> None:
        refused = await system.gateway.get(LEDGER, headers=system.token(role))
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 1001},
            {"agency": "NY0000000"},
            {"agency": "CA00\x0000000"},
            {"agreement_id": "x" * 65},
            {"before_id": 0},
            {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            {"until": "2026-01-01"},
            {"since": "99999-01-01T00:00:00Z"},
            {"format": "xlsx"},
        ],
    )
    async def test_bounded_parameters(self, system: Any, params: dict[str, Any]) -> None:
        refused = await system.gateway.get(LEDGER, params=params, headers=system.token("custodian"))
        assert refused.status_code in (400, 422), refused.text


class TestCsvExport:
    @pytest.mark.parametrize("how", ["query", "accept"])
    async def test_cells_are_safe_in_a_spreadsheet_and_the_export_is_recorded(self, system: Any, how: str) -> None:
        agreement, agency, now = f"AG-{uuid.uuid4().hex[:8]}", ori(), datetime.now(UTC)
        await shares(
            system,
            [entry(agreement, agency, now, name=HOSTILE[0], reason=HOSTILE[1], result_ids=[])]
            + [entry(agreement, agency, now, name=bad) for bad in HOSTILE[2:]],
        )
        params: dict[str, Any] = {"agreement_id": agreement}
        headers = system.token("custodian")
        if how == "query":
            params["format"] = "csv"
        else:
            headers["Accept"] = "text/csv"
        exported = await system.gateway.get(LEDGER, params=params, headers=headers)
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == len(HOSTILE) - 1 and all(r["agreement_id"] == agreement for r in rows)
        for row in rows:
            for column, cell in row.items():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
        # the oldest row holds two of them: a partner's person named like a formula, and a reason like one
        assert rows[-1]["requester_name"] == "'" + HOSTILE[0] and rows[-1]["reason"] == "'" + HOSTILE[1]
        assert [r["requester_name"] for r in rows[:-1]] == ["'" + bad for bad in HOSTILE[2:][::-1]]
        assert rows[-1]["result_count"] == "0" and rows[0]["requester_badge"] == "77"
        assert json.loads(rows[0]["query"]) == {"plate": "8ABC123", "match": "exact"}
        [record] = await view_records(system, "export", agreement)
        assert record["details"]["route"] == "share_ledger" and record["query"]["format"] == "csv"
        assert len(record["result_ids"]) == len(rows)
