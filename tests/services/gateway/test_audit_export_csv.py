"""The audit CSV export (issue 27, item 5): flat columns an auditor reads in a spreadsheet, no JSON in a cell,
and no cell a spreadsheet would run as a formula, whatever a person typed into a reason or a case number."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime

import pytest

from libs.common.contracts.audit import Actor, EventType
from libs.common.contracts.auditing import StoredRecord
from services.gateway.api.audit.export_csv import COLUMNS, csv_lines
from tests.utils.access_log import full_event, record


def stored(**payload: object) -> StoredRecord:
    actor = {"kind": "person", "sub": "officer-1", "name": "=HYPERLINK(1)", "badge": "B7", "roles": ["officer"]}
    return StoredRecord(
        seq=7,
        event_id="e-1",
        event_type="search",
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        actor=actor,
        payload=payload,
        actor_json="{}",
        payload_json="{}",
        prev_hash="00",
        hash="11",
    )


class TestRows:
    def test_each_field_has_a_column_of_its_own(self) -> None:
        record_ = stored(
            purpose={"use": "wanted_suspect", "case_number": "SJ-1", "reason": "robbery"},
            query={"plate": "7ABC123", "since": "2026-11-01"},
            result_count=3,
            result_ids=["r1", "r2", "r3"],
            outcome="granted",
            details={"route": "search"},
        )
        row = next(csv.DictReader(io.StringIO(csv_lines([record_], header=True))))
        assert list(row) == list(COLUMNS)
        assert (row["use"], row["case_number"], row["reason"]) == ("wanted_suspect", "SJ-1", "robbery")
        assert (row["plate"], row["result_count"], row["result_ids"]) == ("7ABC123", "3", "r1 r2 r3")
        assert row["query"] == "since=2026-11-01" and row["details"] == "route=search"
        assert row["actor_roles"] == "officer" and row["actor_badge"] == "B7"

    @pytest.mark.parametrize("typed", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=x"])
    def test_no_cell_starts_a_formula(self, typed: str) -> None:
        record_ = stored(purpose={"use": "wanted_suspect", "case_number": typed, "reason": typed})
        row = next(csv.DictReader(io.StringIO(csv_lines([record_], header=True))))
        assert row["case_number"] == row["reason"] == "'" + typed
        assert row["actor_name"] == "'=HYPERLINK(1)"

    def test_a_record_without_a_purpose_leaves_its_cells_empty(self) -> None:
        row = next(csv.DictReader(io.StringIO(csv_lines([stored()], header=True))))
        assert row["use"] == row["case_number"] == row["plate"] == ""


@pytest.mark.asyncio(loop_scope="session")
class TestExport:
    async def test_the_export_reads_flat_and_formula_safe(self, system) -> None:
        tag = uuid.uuid4().hex[:6].upper()
        actor = Actor(kind="person", sub=f"officer-{tag}", name="Ana Diaz", badge="B12", agency="CA0430000")
        purpose = {"use": "wanted_suspect", "case_number": f"SJ-{tag}", "reason": "=cmd|'/c calc'!A1"}
        event = full_event(EventType.SEARCH, actor=actor, purpose=purpose, query={"plate": f"7{tag}"})
        await record(system, event)
        response = await system.gateway.get(
            "/v1/audit/export", params={"actor_sub": f"officer-{tag}"}, headers=system.token("auditor")
        )
        assert response.status_code == 200
        [row] = list(csv.DictReader(io.StringIO(response.text)))
        assert (row["actor_name"], row["actor_badge"], row["actor_agency"]) == ("Ana Diaz", "B12", "CA0430000")
        assert (row["use"], row["case_number"], row["plate"]) == ("wanted_suspect", f"SJ-{tag}", f"7{tag}")
        assert row["reason"] == "'=cmd|'/c calc'!A1" and row["result_count"] == "2"
