"""Hostile camera posts over HTTP: every one a 4xx or listed under `rejected`, and what was accepted is stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def out_of_window(active_days: int) -> dict[str, tuple[str, str]]:
    """Capture times the gateway refuses, by name: (time, the code it answers)."""
    now = datetime.now(UTC)
    return {
        "year 1 with an offset": ("0001-01-01T00:00:00+05:00", "time_out_of_range"),
        "year 1": ("0001-01-01T00:00:00Z", "captured_before_retention"),
        "2099": ("2099-01-01T00:00:00Z", "captured_in_future"),
        "9999": ("9999-12-15T00:00:00Z", "captured_in_future"),
        "9999 with an offset": ("9999-12-31T23:00:00-05:00", "time_out_of_range"),
        "before the cutoff": ((now - timedelta(days=active_days, hours=1)).isoformat(), "captured_before_retention"),
    }


async def plates_stored(system: Any, plates: list[str], *, expect: int, timeout: float = 10.0) -> set[str]:
    """The plates among these that records holds, once `expect` of them are there or the time is up."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            rows = await conn.fetch("SELECT plate FROM records.reads WHERE plate = ANY($1::text[])", plates)
            if len(rows) >= expect or asyncio.get_running_loop().time() > deadline:
                return {r["plate"] for r in rows}
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def post(system: Any, path: str, body: Any, content_type: str = "application/json") -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await system.gateway.post(path, content=content, headers={**system.camera, "Content-Type": content_type})


@pytest.fixture
def active_days(system: Any) -> int:
    return int(system.runtime("gateway").settings.active_retention_days)


class TestDates:
    @pytest.mark.parametrize("name", list(out_of_window(358)))
    async def test_a_lone_read_is_refused_naming_the_field(self, system, active_days, name) -> None:  # type: ignore[no-untyped-def]
        sent, code = out_of_window(active_days)[name]
        plate = f"D{tag()}"
        response = await post(system, "/v1/reads", {"plate": plate, "captured_at": sent})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code and error["details"]["field"] == "captured_at"
        assert await plates_stored(system, [plate], expect=1, timeout=0.3) == set()

    async def test_a_batch_stores_the_good_reads_and_lists_the_others(self, system, active_days) -> None:  # type: ignore[no-untyped-def]
        run = tag()
        now = datetime.now(UTC).isoformat()
        bad = list(out_of_window(active_days).values())
        reads = [{"plate": f"G{run}1", "captured_at": now}]
        reads += [{"plate": f"B{run}{i}", "captured_at": sent} for i, (sent, _) in enumerate(bad)]
        reads.append({"plate": f"N{run}", "captured_at": now, "note": "bad\u0000byte"})
        reads.append({"plate": f"G{run}2", "captured_at": now})
        response = await post(system, "/v1/reads", {"reads": reads})
        assert response.status_code == 202, response.text
        reply = response.json()
        assert reply["accepted"] == 2 and len(reply["read_ids"]) == 2
        expected = [(i + 1, code, f"reads[{i + 1}].captured_at") for i, (_, code) in enumerate(bad)]
        expected.append((len(bad) + 1, "invalid_text", f"reads[{len(bad) + 1}].note"))
        assert [(r["index"], r["code"], r["field"]) for r in reply["rejected"]] == expected
        assert all(r["message"] for r in reply["rejected"])
        every = [r["plate"] for r in reads]
        assert await plates_stored(system, every, expect=2) == {f"G{run}1", f"G{run}2"}
        await asyncio.sleep(0.5)  # had records taken a refused read, it would be there by now
        assert await plates_stored(system, every, expect=3, timeout=0) == {f"G{run}1", f"G{run}2"}

    async def test_a_batch_of_nothing_but_refused_reads_is_422_with_each_named(self, system, active_days) -> None:  # type: ignore[no-untyped-def]
        bad = list(out_of_window(active_days).values())
        reads = [{"plate": f"A{tag()}", "captured_at": sent} for sent, _ in bad]
        response = await post(system, "/v1/reads", {"reads": reads})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "reads_rejected"
        assert [(r["index"], r["code"]) for r in error["details"]["rejected"]] == [
            (i, code) for i, (_, code) in enumerate(bad)
        ]

    async def test_no_partition_is_made_for_a_far_future(self, system) -> None:  # type: ignore[no-untyped-def]
        await post(system, "/v1/reads", {"plate": f"F{tag()}", "captured_at": "2099-06-01T00:00:00Z"})
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            far = await conn.fetch("SELECT relname FROM pg_class WHERE relname ~ '^reads_2(0[4-9]|[1-9])'")
        finally:
            await conn.close()
        assert far == []


class TestVendorText:
    async def test_nul_in_a_genetec_vehicle_type_is_refused_and_not_stored(self, system) -> None:  # type: ignore[no-untyped-def]
        plate = f"V{tag()}"
        doc = {
            "Id": str(uuid.uuid4()),
            "PlateRead": plate,
            "Timestamp": datetime.now(UTC).isoformat(),
            "PlateAnalytics": [{"Key": "Vehicle Type", "Score": 1.0, "Value": "Car\u0000"}],
        }
        response = await post(system, "/v1/ingest/genetec", doc)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_text" and error["details"]["field"] == "PlateAnalytics[0].Value"
        assert await plates_stored(system, [plate], expect=1, timeout=0.3) == set()

    async def test_a_lone_surrogate_in_an_openalpr_group_is_refused(self, system) -> None:  # type: ignore[no-untyped-def]
        group = {
            "data_type": "alpr_group",
            "epoch_start": int(datetime.now(UTC).timestamp() * 1000),
            "uuids": [str(uuid.uuid4())],
            "best_plate_number": f"S{tag()}",
            "best_plate": {"plate": "X", "confidence": 90},
            "vehicle": {"color": [{"name": "red\ud800", "confidence": 80}]},
        }
        response = await post(system, "/push/", group)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]["field"] == "vehicle.color[0].name"

    async def test_an_openalpr_post_stores_its_good_result_and_lists_the_bad_one(self, system) -> None:  # type: ignore[no-untyped-def]
        good, bad = f"G{tag()}", f"B{tag()}"
        results = [{"plate": good, "confidence": 90}, {"plate": f"{bad}\u0000", "confidence": 90}]
        doc = {
            "data_type": "alpr_results",
            "epoch_time": int(datetime.now(UTC).timestamp() * 1000),
            "uuid": str(uuid.uuid4()),
            "results": results,
        }
        response = await post(system, "/push/", doc)
        assert response.status_code == 202, response.text
        reply = response.json()
        assert reply["accepted"] == 1 and len(reply["read_ids"]) == 1
        assert [(r["index"], r["code"], r["field"]) for r in reply["rejected"]] == [
            (1, "invalid_text", "results[1].plate")
        ]
        assert await plates_stored(system, [good, bad], expect=1) == {good}

    async def test_a_platerecognizer_post_of_nothing_but_bad_results_is_422(self, system) -> None:  # type: ignore[no-untyped-def]
        plates = [f"A{tag()}", f"B{tag()}"]
        results = [{"plate": f"{p}\u0000", "score": 0.9} for p in plates]
        doc = {"camera_id": "gate-2", "timestamp": datetime.now(UTC).isoformat(), "results": results}
        response = await post(system, "/v1/ingest/platerecognizer", doc)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "reads_rejected"
        assert [r["field"] for r in error["details"]["rejected"]] == [f"data.results[{i}].plate" for i in range(2)]
        assert await plates_stored(system, plates, expect=1, timeout=0.3) == set()


class TestDocuments:
    async def test_a_utf16_dtd_is_400(self, system) -> None:  # type: ignore[no-untyped-def]
        body = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "ABC123">]><Plate><PlateRead>&a;'
        body += f"</PlateRead><Timestamp>{datetime.now(UTC).isoformat()}</Timestamp></Plate>"
        response = await post(system, "/v1/ingest/genetec", body.encode("utf-16"), "application/xml")
        assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_xml"

    async def test_an_unknown_xml_encoding_is_400(self, system) -> None:  # type: ignore[no-untyped-def]
        body = b'<?xml version="1.0" encoding="x-bogus"?><Plate><PlateRead>ABC123</PlateRead></Plate>'
        response = await post(system, "/v1/ingest", body, "application/xml")
        assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_xml"

    @pytest.mark.parametrize("path", ["/v1/reads", "/v1/ingest", "/v1/ingest/openalpr", "/push/"])
    async def test_deep_json_is_400(self, system, path: str) -> None:  # type: ignore[no-untyped-def]
        response = await post(system, path, b"[" * 100_000)
        assert response.status_code == 400 and response.json()["error"]["code"] == "json_too_deep"
