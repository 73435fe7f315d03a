"""Importing hand-made lists: Genetec files (FORMATS.md §3.4), plain CSV, and whole-file refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.importers import HotlistFormat, ImportBatch, ImportReport, import_hotlist

RECEIVED_AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)  # as in conftest's `ncic_batch`


def _refusals(report: ImportReport) -> list[tuple[int, str]]:
    return [(line.line_no, line.code) for line in report.refused]


class TestGenetec:
    def test_permit_sample(self, hotlist_samples: Path) -> None:
        batch = ImportBatch(HotlistSource.MANUAL, datetime(2012, 2, 1, tzinfo=UTC))
        report = import_hotlist((hotlist_samples / "genetec_permit_list_example.txt").read_text(), batch)
        assert report.format is HotlistFormat.GENETEC
        assert [entry.plate for entry in report.entries] == ["DEF228", "345ABG", "244KVF"]
        first = report.entries[0]
        assert (first.state, first.case_number) == ("QC", "PermitID_1")
        assert first.entered_at == datetime(2012, 1, 31, tzinfo=UTC)
        # Manual entries live 30 days at most whatever ExpiryDate (2012-05-31) the file asks for.
        assert first.expires_at == datetime(2012, 3, 1, tzinfo=UTC)
        # ExpiryDate is the last valid day: 2012-03-31 lapses at the end of that day, capped the same way.
        assert report.entries[2].expires_at == datetime(2012, 3, 1, tzinfo=UTC)

    def test_expiry_date_is_the_last_valid_day(self) -> None:
        batch = ImportBatch(HotlistSource.NCIC, datetime(2012, 3, 1, tzinfo=UTC))
        report = import_hotlist("Stolen;QC;DEF228;2012-01-31;2012-03-02;P1\n", batch)
        [entry] = report.entries
        assert entry.reason == "Stolen"
        assert entry.expires_at == datetime(2012, 3, 3, tzinfo=UTC)

    def test_header_row_tab_delimiter_and_broken_lines(self) -> None:
        batch = ImportBatch(HotlistSource.MANUAL, RECEIVED_AT, wildcards=True)
        text = (
            "PlateNumber\tPlateState\tCategory\tPriority\tOfficer\n"
            "7ABC123\tCA\tStolen\t5\tJones\n"
            "7AB*\tCA\tPartial\t\t\n"
            "7ABC124\tCA\tStolen\n"
            "7ABC125\tCALIF\tStolen\t5\tJones\n"
        )
        report = import_hotlist(text, batch)
        assert report.format is HotlistFormat.GENETEC
        full, partial = report.entries
        assert (full.plate, full.priority, full.reason) == ("7ABC123", 5, "Stolen - officer=Jones")
        assert (partial.plate, partial.priority, partial.is_wildcard) == ("7AB*", 50, True)
        assert _refusals(report) == [(4, "wrong_column_count"), (5, "bad_state")]

    def test_colon_delimiter_and_bad_date(self) -> None:
        batch = ImportBatch(HotlistSource.NCIC, RECEIVED_AT)
        report = import_hotlist("QC:DEF228:2012-01-31:2012-05-31:P1\nQC:DEF229:31/01/2012::P2\n", batch)
        assert [entry.plate for entry in report.entries] == ["DEF228"]
        assert _refusals(report) == [(2, "bad_date")]


class TestPlainCsv:
    def test_rows_by_header(self) -> None:
        batch = ImportBatch(HotlistSource.MANUAL, RECEIVED_AT, wildcards=True)
        text = (
            "plate,state,reason,case_number,colour,expires_at,unused\n"
            "7abc-123,ca,Stolen truck,26-0001,WHI,2026-03-05T00:00:00+00:00,x\n"
            '"7AB?12",,"Partial plate, witness",26-0002,,,\n'
            "7ABC 9!,CA,Bad,,,,\n"
            "7ABC999,CA,Bad date,,,05/03/2026,\n"
            "7ABC998,CA\n"
        )
        report = import_hotlist(text, batch)
        assert report.format is HotlistFormat.CSV
        truck, partial = report.entries
        assert (truck.plate, truck.state, truck.reason, truck.case_number) == (
            "7ABC123",
            "CA",
            "Stolen truck",
            "26-0001",
        )
        assert truck.expires_at == datetime(2026, 3, 5, tzinfo=UTC)
        assert (partial.plate, partial.state, partial.reason) == ("7AB?12", None, "Partial plate, witness")
        assert partial.expires_at == RECEIVED_AT + timedelta(days=30)
        assert _refusals(report) == [(4, "bad_plate"), (5, "bad_date"), (6, "wrong_column_count")]

    def test_entered_in_the_future_counts_from_the_files_arrival(self) -> None:
        # a manual entry's 30-day cap counts from entered_at: one dated 2099 would live until then
        batch = ImportBatch(HotlistSource.MANUAL, RECEIVED_AT)
        text = (
            "plate,state,entered_at\n"
            "7ABC123,CA,2099-01-01\n"
            f"7ABC124,CA,{(RECEIVED_AT + timedelta(hours=1)).isoformat()}\n"
            f"7ABC125,CA,{(RECEIVED_AT - timedelta(days=3)).isoformat()}\n"
        )
        report = import_hotlist(text, batch)
        assert _refusals(report) == []  # a feed's entry day in a zone ahead of ours is no reason to drop a plate
        ahead, hour, earlier = report.entries
        assert ahead.entered_at == hour.entered_at == RECEIVED_AT
        assert ahead.expires_at <= RECEIVED_AT + timedelta(days=30)
        assert earlier.expires_at <= RECEIVED_AT + timedelta(days=27)

    def test_openalpr_normal_form(self) -> None:
        batch = ImportBatch(HotlistSource.PARTNER, RECEIVED_AT)
        report = import_hotlist("Plate Number,Description,State/Province\nABC123,Stolen,NV\n", batch)
        [entry] = report.entries
        assert (entry.plate, entry.reason, entry.state) == ("ABC123", "Stolen", "NV")
        assert entry.expires_at == RECEIVED_AT + timedelta(hours=24)

    def test_wildcards_refused_from_feeds(self, ncic_batch: ImportBatch) -> None:
        report = import_hotlist("plate,state\n7AB*,CA\n", ncic_batch)
        assert _refusals(report) == [(2, "bad_plate")]


class TestWholeFile:
    def test_empty_and_unknown_files(self, ncic_batch: ImportBatch) -> None:
        assert _refusals(import_hotlist(" \n\n", ncic_batch)) == [(0, "empty_file")]
        unknown = import_hotlist("hello world\n", ncic_batch)
        assert unknown.format is None
        assert _refusals(unknown) == [(0, "unknown_format")]
        assert not unknown.complete

    def test_byte_order_mark_and_latin1(self, ncic_batch: ImportBatch) -> None:
        report = import_hotlist("plate,reason\nABC123,Vol\u00e9\n".encode("latin-1"), ncic_batch)
        assert report.entries[0].reason == "Vol\u00e9"
        assert import_hotlist("\ufeffplate\nABC123\n".encode(), ncic_batch).entries[0].plate == "ABC123"
