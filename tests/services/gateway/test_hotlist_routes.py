"""Hotlist routes end to end: lists, manual entries, file imports in each format, and their audit records."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")

TODAY = datetime.now(UTC).strftime("%Y%m%d")
ISO_DAY = datetime.now(UTC).date().isoformat()


def unique(prefix: str = "7") -> str:
    return prefix + uuid.uuid4().hex[:6].upper()


async def create_list(system: Any, source: str = "manual", **extra: Any) -> dict[str, Any]:
    body = {"name": f"list {uuid.uuid4().hex[:8]}", "source": source, **extra}
    response = await system.gateway.post("/v1/hotlists", json=body, headers=system.token("admin"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def upload(system: Any, hotlist_id: str, content: str, **params: str) -> dict[str, Any]:
    response = await system.gateway.post(
        f"/v1/hotlists/{hotlist_id}/imports",
        content=content.encode(),
        params={"time_zone": "UTC", **params},
        headers={**system.token("admin"), "content-type": "text/plain"},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def plates_of(system: Any, hotlist_id: str) -> list[str]:
    response = await system.gateway.get(f"/v1/hotlists/{hotlist_id}/entries", headers=system.token("officer"))
    assert response.status_code == 200, response.text
    return sorted(e["plate"] for e in response.json()["entries"])


async def hotlist_audits(system: Any, hotlist_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT actor, payload FROM audit.access_records WHERE event_type = 'hotlist_change' "
            "AND (payload::jsonb) -> 'query' ->> 'hotlist_id' = $1 ORDER BY seq",
            hotlist_id,
        )
    finally:
        await conn.close()
    return [{"actor": json.loads(r["actor"]), **json.loads(r["payload"])} for r in rows]


class TestLists:
    async def test_admin_creates_a_list_and_the_change_is_audited(self, system: Any) -> None:
        created = await create_list(system, description="stolen in San Jose", shareable=True)
        assert created["source"] == "manual" and created["shareable"] is True and created["active_entries"] == 0
        [record] = await hotlist_audits(system, created["hotlist_id"])
        assert record["actor"]["sub"] == "dev-admin"
        assert record["details"]["action"] == "create_list"
        assert record["client_address"] == "203.0.113.7"

    async def test_officer_reads_lists_but_cannot_change_them(self, system: Any) -> None:
        created = await create_list(system)
        listed = await system.gateway.get("/v1/hotlists", headers=system.token("officer"))
        assert listed.status_code == 200
        assert created["hotlist_id"] in [h["hotlist_id"] for h in listed.json()["hotlists"]]
        refused = await system.gateway.post(
            "/v1/hotlists", json={"name": "mine", "source": "manual"}, headers=system.token("officer")
        )
        assert refused.status_code == 403
        entry = await system.gateway.post(
            f"/v1/hotlists/{created['hotlist_id']}/entries", json={"plate": "7ABC123"}, headers=system.token("officer")
        )
        assert entry.status_code == 403
        assert (
            await hotlist_audits(system, created["hotlist_id"]) != []
            and len(await plates_of(system, created["hotlist_id"])) == 0
        )

    async def test_auditor_and_anonymous_callers_get_nothing(self, system: Any) -> None:
        assert (await system.gateway.get("/v1/hotlists", headers=system.token("auditor"))).status_code == 403
        assert (await system.gateway.get("/v1/hotlists")).status_code == 401

    async def test_partner_lists_cannot_be_made_by_hand(self, system: Any) -> None:
        response = await system.gateway.post(
            "/v1/hotlists", json={"name": unique("p"), "source": "partner"}, headers=system.token("admin")
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "partner_list_not_creatable"


class TestManualEntries:
    async def test_entry_expires_within_30_days_whatever_is_asked(self, system: Any) -> None:
        hotlist = await create_list(system)
        plate = unique()
        asked = (datetime.now(UTC) + timedelta(days=90)).isoformat()
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries",
            json={"plate": plate.lower(), "state": "ca", "reason": "stolen at knifepoint", "expires_at": asked},
            headers=system.token("admin"),
        )
        assert response.status_code == 201, response.text
        entry = response.json()
        assert entry["plate"] == plate and entry["state"] == "CA" and entry["source"] == "manual"
        lifetime = datetime.fromisoformat(entry["expires_at"]) - datetime.fromisoformat(entry["entered_at"])
        assert lifetime == timedelta(days=30)
        # the cut is said, not silent: what was asked beside what was given
        assert entry["expiry_clamped"] is True
        assert datetime.fromisoformat(entry["requested_expires_at"]) == datetime.fromisoformat(asked)
        records = await hotlist_audits(system, hotlist["hotlist_id"])
        assert records[-1]["details"]["action"] == "add_entry" and records[-1]["query"]["plate"] == plate
        assert records[-1]["details"]["expiry_clamped"] is True

    @pytest.mark.parametrize("asked_days", [None, 10])
    async def test_an_expiry_within_30_days_is_kept_and_not_reported_as_cut(
        self, system: Any, asked_days: int | None
    ) -> None:
        hotlist = await create_list(system)
        asked = (datetime.now(UTC) + timedelta(days=asked_days)).isoformat() if asked_days else None
        body = {"plate": unique(), **({"expires_at": asked} if asked else {})}
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries", json=body, headers=system.token("admin")
        )
        assert response.status_code == 201, response.text
        entry = response.json()
        assert entry["expiry_clamped"] is False
        if asked is None:
            assert entry["requested_expires_at"] is None
        else:
            assert datetime.fromisoformat(entry["expires_at"]) == datetime.fromisoformat(asked)
            assert datetime.fromisoformat(entry["requested_expires_at"]) == datetime.fromisoformat(asked)

    async def test_an_expiry_without_a_time_zone_is_refused(self, system: Any) -> None:
        hotlist = await create_list(system)
        body = {"plate": unique(), "expires_at": "2026-12-31T00:00:00"}
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries", json=body, headers=system.token("admin")
        )
        assert response.status_code == 422 and response.json()["error"]["fields"] == ["body.expires_at"]

    async def test_an_import_names_the_lines_whose_expiry_was_cut(self, system: Any) -> None:
        hotlist = await create_list(system)
        far = (datetime.now(UTC) + timedelta(days=90)).isoformat()
        near = (datetime.now(UTC) + timedelta(days=5)).isoformat()
        content = f"plate,state,expires_at\n{unique()},CA,{far}\n{unique()},CA,{near}\n{unique()},CA,\n"
        result = await upload(system, hotlist["hotlist_id"], content, mode="add")
        assert result["accepted_lines"] == [2, 3, 4] and result["expiries_clamped"] == [2]
        record = (await hotlist_audits(system, hotlist["hotlist_id"]))[-1]
        assert record["details"]["expiries_clamped"] == 1

    async def test_a_feed_cut_to_its_refresh_rule_is_not_reported(self, system: Any) -> None:
        hotlist = await create_list(system, source="ncic")
        far = (datetime.now(UTC) + timedelta(days=400)).isoformat()
        result = await upload(system, hotlist["hotlist_id"], f"plate,state,expires_at\n{unique()},CA,{far}\n")
        assert result["accepted_lines"] == [2] and result["expiries_clamped"] == []

    async def test_an_unknown_field_is_refused_naming_it(self, system: Any) -> None:
        hotlist = await create_list(system)
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries",
            json={"plate": unique(), "expiry": "2030-01-01T00:00:00Z"},
            headers=system.token("admin"),
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["fields"] == ["body.expiry"]
        assert await plates_of(system, hotlist["hotlist_id"]) == []
        unknown = await system.gateway.post(
            "/v1/hotlists", json={"name": "typo", "source": "manual", "sharable": True}, headers=system.token("admin")
        )
        assert unknown.status_code == 422 and unknown.json()["error"]["fields"] == ["body.sharable"]

    async def test_removed_entry_leaves_the_list_and_is_audited(self, system: Any) -> None:
        hotlist = await create_list(system)
        plate = unique()
        added = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries", json={"plate": plate}, headers=system.token("admin")
        )
        entry_id = added.json()["entry_id"]
        removed = await system.gateway.delete(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries/{entry_id}", headers=system.token("admin")
        )
        assert removed.status_code == 200 and removed.json()["plate"] == plate
        assert await plates_of(system, hotlist["hotlist_id"]) == []
        again = await system.gateway.delete(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries/{entry_id}", headers=system.token("admin")
        )
        assert again.status_code == 404
        actions = [r["details"]["action"] for r in await hotlist_audits(system, hotlist["hotlist_id"])]
        assert actions == ["create_list", "add_entry", "remove_entry"]

    async def test_entries_are_typed_only_on_manual_lists(self, system: Any) -> None:
        hotlist = await create_list(system, source="ncic")
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/entries", json={"plate": unique()}, headers=system.token("admin")
        )
        assert response.status_code == 422 and response.json()["error"]["code"] == "not_a_manual_list"


def _ncic_fixed(plate: str) -> str:
    # NIC(10) ORI(9) date(8) plate(10) state(2) plate year and type(6) year(4) make(4) model(3) style(2) colour
    nic = ("V" + plate).ljust(10, "0")[:10]
    return f"{nic}CA0430000{TODAY}{plate:<10}CA2026PC2009HONDCIV4DBLK"


FORMATS: dict[str, tuple[str, Any]] = {
    "ncic_fixed": ("ncic", lambda a, b: f"{_ncic_fixed(a)}\n{_ncic_fixed(b)}\nV12\n"),
    "ncic_comma": (
        "ncic",
        lambda a, b: (
            f"V123456789,CA0430000,{TODAY},{a},CA,2021,2009,HOND,CIV,4D,BLK\n"
            f"V123456780,CA0430000,{TODAY},{b},CA,2021,2009,HOND,CIV,4D,BLK\nV1,CA,{TODAY},??,CA,,,,,,\n"
        ),
    ),
    "ca_doj_clew": ("ca_doj_stolen_vehicle", lambda a, b: f"{a:<8}CA01{TODAY}\n{b:<8}CA02{TODAY}\n!!!!\n"),
    "genetec": ("manual", lambda a, b: f"CA;{a};{ISO_DAY};;P1\nCA;{b};{ISO_DAY};;P2\nCA;X;Y\n"),
    "csv": ("manual", lambda a, b: f"plate,state,reason\n{a},CA,stolen\n{b},CA,stolen\n{a},CALIFORNIA,x\n"),
}


class TestImports:
    @pytest.mark.parametrize("fmt", sorted(FORMATS))
    async def test_each_format_reports_accepted_and_refused_lines(self, system: Any, fmt: str) -> None:
        source, build = FORMATS[fmt]
        hotlist = await create_list(system, source=source)
        a, b = unique("8"), unique("9")
        result = await upload(system, hotlist["hotlist_id"], build(a, b), mode="add")
        assert result["format"] == fmt
        assert len(result["accepted_lines"]) == 2 and result["added"] == 2
        [refused] = result["refused"]
        assert refused["line_no"] == (3 if fmt != "csv" else 4) and refused["code"]
        assert await plates_of(system, hotlist["hotlist_id"]) == sorted([a, b])
        [_, record] = await hotlist_audits(system, hotlist["hotlist_id"])
        assert record["details"]["action"] == "import" and record["details"]["refused"] == 1

    async def test_replacement_swaps_the_whole_list_and_refreshes_it(self, system: Any) -> None:
        hotlist = await create_list(system, source="ncic")
        kept, dropped, new = unique("1"), unique("2"), unique("3")
        await upload(system, hotlist["hotlist_id"], f"{_ncic_fixed(kept)}\n{_ncic_fixed(dropped)}\n")
        result = await upload(system, hotlist["hotlist_id"], f"{_ncic_fixed(kept)}\n{_ncic_fixed(new)}\n")
        assert (result["added"], result["refreshed"], result["removed"], result["applied"]) == (1, 1, 1, True)
        assert await plates_of(system, hotlist["hotlist_id"]) == sorted([kept, new])
        summary = (
            await system.gateway.get(f"/v1/hotlists/{hotlist['hotlist_id']}", headers=system.token("officer"))
        ).json()
        assert summary["refreshed_at"] is not None and summary["stale"] is False and summary["active_entries"] == 2

    async def test_incomplete_file_does_not_replace_the_list(self, system: Any) -> None:
        hotlist = await create_list(system, source="ca_doj_stolen_vehicle")
        held = unique("4")
        await upload(system, hotlist["hotlist_id"], f"{held:<8}CA01{TODAY}\n", format="ca_doj_clew")
        # the footer counts 72 records where the file has one: a truncated extract
        truncated = f"DATE07/02/2026 09:00\n{unique('5'):<8}CA01{TODAY}\nTOTAL RECORD 0000072\n"
        result = await upload(system, hotlist["hotlist_id"], truncated, format="ca_doj_clew")
        assert result["applied"] is False and result["added"] == 0
        assert any(r["code"] == "footer_count_mismatch" for r in result["refused"])
        assert await plates_of(system, hotlist["hotlist_id"]) == [held]

    async def test_delta_removal(self, system: Any) -> None:
        hotlist = await create_list(system)
        a, b = unique(), unique()
        await upload(system, hotlist["hotlist_id"], f"plate,state\n{a},CA\n{b},CA\n", mode="add")
        result = await upload(system, hotlist["hotlist_id"], f"plate,state\n{a},CA\n", mode="remove")
        assert result["removed"] == 1
        assert await plates_of(system, hotlist["hotlist_id"]) == [b]

    async def test_multipart_upload(self, system: Any) -> None:
        hotlist = await create_list(system)
        plate = unique()
        response = await system.gateway.post(
            f"/v1/hotlists/{hotlist['hotlist_id']}/imports",
            params={"mode": "add"},
            files={"file": ("list.csv", f"plate,state\n{plate},CA\n".encode(), "text/csv")},
            headers=system.token("admin"),
        )
        assert response.status_code == 200, response.text
        assert await plates_of(system, hotlist["hotlist_id"]) == [plate]

    async def test_a_file_larger_than_one_message_travels_in_parts(
        self, system: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from services.gateway.api import hotlists as routes

        monkeypatch.setattr(routes, "PART_BYTES", 64)  # a few lines a part instead of 4 MiB
        hotlist = await create_list(system)
        plates = [unique() for _ in range(20)]
        lines = ["plate,state", *(f"{p},CA" for p in plates[:10]), "BAD PLATE!,CA", *(f"{p},CA" for p in plates[10:])]
        result = await upload(system, hotlist["hotlist_id"], "\n".join(lines) + "\n", mode="add")
        assert result["added"] == 20
        assert [(r["line_no"], r["code"]) for r in result["refused"]] == [(12, "bad_plate")]
        assert await plates_of(system, hotlist["hotlist_id"]) == sorted(plates)
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            assert await conn.fetchval("SELECT count(*) FROM records.hotlist_import_parts") == 0
        finally:
            await conn.close()


async def entry_views(system: Any, hotlist_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT actor, payload FROM audit.access_records WHERE event_type = 'hotlist_view' "
            "AND (payload::jsonb) -> 'query' ->> 'hotlist_id' = $1 ORDER BY seq",
            hotlist_id,
        )
    finally:
        await conn.close()
    return [{"actor": json.loads(r["actor"]), **json.loads(r["payload"])} for r in rows]


class TestEntryViewsAreRecorded:
    """A1: who looked up whether a plate is wanted is on the record (found by a red-team review: it was not)."""

    async def test_a_look_at_entries_records_who_asked_for_which_plate_and_what_was_shown(self, system: Any) -> None:
        listed = await create_list(system)
        plate = unique()
        added = await system.gateway.post(
            f"/v1/hotlists/{listed['hotlist_id']}/entries",
            json={"plate": plate, "state": "CA", "reason": "Stolen on Story Rd", "case_number": "SJ-2026-004211"},
            headers=system.token("admin"),
        )
        assert added.status_code == 201, added.text
        looked = await system.gateway.get(
            f"/v1/hotlists/{listed['hotlist_id']}/entries", params={"plate": plate}, headers=system.token("officer")
        )
        assert looked.status_code == 200 and [e["plate"] for e in looked.json()["entries"]] == [plate]
        (view,) = await entry_views(system, listed["hotlist_id"])
        assert view["actor"]["roles"] == ["officer"] and view["actor"]["badge"]
        assert view["query"]["plate"] == plate
        assert view["result_ids"] == [str(added.json()["entry_id"])] and view["result_count"] == 1

    async def test_no_record_no_entries(self, system: Any) -> None:
        listed = await create_list(system)
        await system.stop_service("audit")
        try:
            looked = await system.gateway.get(
                f"/v1/hotlists/{listed['hotlist_id']}/entries", headers=system.token("officer")
            )
        finally:
            await system.start_service("audit")
        assert looked.status_code == 503 and looked.json()["error"]["code"] == "audit_unavailable"
        assert "entries" not in looked.json()
