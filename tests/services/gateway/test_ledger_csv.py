"""The ledger's CSV cells: nothing a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from libs.common.contracts.ledger import LedgerEntry
from services.gateway.api.custodian.ledger_csv import COLUMNS, ledger_csv, safe_cell

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


class TestSafeCell:
    @pytest.mark.parametrize("bad", HOSTILE)
    def test_a_formula_start_gets_an_apostrophe(self, bad: str) -> None:
        assert safe_cell(bad) == "'" + bad

    @pytest.mark.parametrize("good", ["CA0410000", "Det. A. Partner", "", "a=b", "1-2", None, 3])
    def test_other_values_are_unchanged(self, good: object) -> None:
        assert safe_cell(good) == ("" if good is None else str(good))


class TestLedgerCsv:
    def test_every_free_text_column_is_protected_and_survives_a_round_trip(self) -> None:
        entry = LedgerEntry(
            id=7,
            at=datetime(2026, 12, 1, tzinfo=UTC),
            agreement_id="-AG",
            agreement_version=1,
            partner_ori="CA0410000",
            client_id="@client",
            action="search",
            requester={"name": HOSTILE[0], "badge": "+12"},
            on_behalf_of={"ori": "CA0410000", "name": "=cmd|' /C calc'!A0"},
            purpose={"use": "stolen_vehicle", "case_number": "\t1", "reason": 'line one\nline two, "quoted"'},
            query={"plate": "8ABC123"},
            result_count=2,
            result_ids=["a", "b"],
        )
        [row] = list(csv.DictReader(io.StringIO(ledger_csv([entry]))))
        assert list(row) == list(COLUMNS)
        assert row["agreement_id"] == "'-AG" and row["client_id"] == "'@client"
        assert row["requester_name"] == "'" + HOSTILE[0] and row["requester_badge"] == "'+12"
        assert row["on_behalf_of_name"].startswith("'=") and row["case_number"] == "'\t1"
        assert row["reason"] == 'line one\nline two, "quoted"' and row["result_ids"] == "a b"
