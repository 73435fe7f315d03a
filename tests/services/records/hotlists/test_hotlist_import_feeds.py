"""Importing state feeds (FORMATS.md §12.2-12.3): NCIC extracts and CA DOJ CLEW, samples and broken lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from libs.common.errors import InvalidInput
from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.importers import (
    HotlistFormat,
    ImportBatch,
    ImportReport,
    clew_source,
    import_hotlist,
)

RECEIVED_AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)  # as in conftest's `ncic_batch`
FEED_EXPIRY = RECEIVED_AT + timedelta(days=7)


def _refusals(report: ImportReport) -> list[tuple[int, str]]:
    return [(line.line_no, line.code) for line in report.refused]


class TestNcicFixed:
    def test_sample_record(self, hotlist_samples: Path, ncic_batch: ImportBatch) -> None:
        report = import_hotlist((hotlist_samples / "hotlist_ncic_example.txt").read_bytes(), ncic_batch)
        assert report.format is HotlistFormat.NCIC_FIXED
        assert report.refused == []
        [line] = report.accepted
        entry = line.entry
        assert line.line_no == 1
        assert (entry.plate, entry.state, entry.ncic_record_type) == ("AB123456", "CA", "V")
        assert (entry.nic, entry.ori, entry.reason) == ("V123456789", "LA0570200", "Stolen Vehicle")
        assert (entry.vehicle_year, entry.make, entry.model, entry.style, entry.colour) == (
            2009, "YAMA", "CYL", "MC", "BLK",
        )  # fmt: skip
        assert entry.entered_at == datetime(2019, 5, 9, tzinfo=UTC)
        assert (entry.refreshed_at, entry.expires_at) == (RECEIVED_AT, FEED_EXPIRY)

    def test_header_skipped_and_broken_lines_reported(self, ncic_batch: ImportBatch) -> None:
        good = "V123456789LA057020020190509AB123456  CA2009MC2009YAMACYLMCBLK"
        text = "\n".join(
            [
                "HEADER VEHEXTRT 20260301",
                good,
                "V123456789LA0570200201905",  # cut short
                good.replace("20190509", "20191309"),  # month 13
                good.replace("AB123456", "AB$12345"),
                "",
                good.replace("CA2009", "C12009"),
                good.replace("AB123456", "ZZ999   "),
            ]
        )
        report = import_hotlist(text, ncic_batch, HotlistFormat.NCIC_FIXED)
        assert report.skipped == [1]
        assert [line.line_no for line in report.accepted] == [2, 8]
        assert report.accepted[1].entry.plate == "ZZ999"
        assert _refusals(report) == [(3, "wrong_width"), (4, "bad_date"), (5, "bad_plate"), (7, "bad_state")]
        assert report.complete


class TestNcicComma:
    def test_texas_sample(self, hotlist_samples: Path, ncic_batch: ImportBatch) -> None:
        report = import_hotlist((hotlist_samples / "hotlist_tx_ncic_example.txt").read_text(), ncic_batch)
        assert report.format is HotlistFormat.NCIC_COMMA
        [line] = report.accepted
        entry = line.entry
        # Agencies write 0H for Ohio: the state is read as a letter O, the make is kept as sent.
        assert (entry.plate, entry.state, entry.nic, entry.ori) == (
            "GGX6728",
            "OH",
            "C165399977",
            "0H0671200",
        )
        assert (entry.ncic_record_type, entry.reason) == ("C", "Supervised Release")
        assert (entry.vehicle_year, entry.make, entry.model, entry.style, entry.colour) == (
            2009, "D0DG", "CHA", "4D", "GRY",
        )  # fmt: skip
        assert entry.entered_at == datetime(2020, 1, 24, tzinfo=UTC)

    def test_minnesota_kansas_and_tcic_variants(self, ncic_batch: ImportBatch) -> None:
        text = (
            "C845996328,0H0671200,20211122,JFJ4764,0H,2022,TK,2013,CHEV,AVA,PK,CRM\n"
            "V,NY03030P0,20210609,85TF66,NY,2021,MC,2005,YAMA,CYL,MC,BLK\n"
            "TW1026325915,17MFM5,TX,2009,FORD,TK,PK,WHI\n"
            "V,NY03030P0,20210609,85TF66,NY\n"
            "V,NY03030P0,2021-06-09,85TF66,NY,2021,MC,2005,YAMA,CYL,MC,BLK\n"
        )
        report = import_hotlist(text, ncic_batch)
        assert report.format is HotlistFormat.NCIC_COMMA
        mn, ks, tcic = report.entries
        assert (mn.plate, mn.state, mn.make, mn.colour, mn.ncic_record_type) == (
            "JFJ4764",
            "OH",
            "CHEV",
            "CRM",
            "C",
        )
        assert (ks.plate, ks.nic, ks.ncic_record_type, ks.reason) == ("85TF66", None, "V", "Stolen Vehicle")
        assert (tcic.plate, tcic.state, tcic.nic, tcic.ncic_record_type) == (
            "17MFM5",
            "TX",
            "TW1026325915",
            "W",
        )
        assert tcic.reason is None and tcic.entered_at == RECEIVED_AT
        assert _refusals(report) == [(4, "wrong_column_count"), (5, "bad_date")]


class TestCaDojClew:
    def test_sfr_sample_footer_count_mismatch(self, hotlist_samples: Path) -> None:
        batch = ImportBatch(HotlistSource.CA_DOJ_FELONY_VEHICLE, RECEIVED_AT)
        report = import_hotlist((hotlist_samples / "hotlist_ca_doj_clew_sfr.tbl").read_text(), batch)
        assert report.format is HotlistFormat.CA_DOJ_CLEW
        assert report.skipped == [1, 4]
        first, second = report.entries
        assert (first.plate, first.state, first.entered_at) == (
            "ABC123",
            "CA",
            datetime(2018, 6, 27, tzinfo=UTC),
        )
        assert (second.plate, second.reason) == ("XYZ999", "Felony Vehicle (county 02)")
        assert first.source is HotlistSource.CA_DOJ_FELONY_VEHICLE
        # The sample's footer says 72 records for the 2 it holds: the file cannot replace a list.
        assert _refusals(report) == [(4, "footer_count_mismatch")]
        assert not report.complete

    def test_example_line_without_header(self, hotlist_samples: Path) -> None:
        batch = ImportBatch(HotlistSource.CA_DOJ_STOLEN_VEHICLE, RECEIVED_AT)
        report = import_hotlist((hotlist_samples / "hotlist_ca_doj_clew_example.txt").read_text(), batch)
        [entry] = report.entries
        assert (entry.plate, entry.state, entry.reason) == ("ABC1234", "CA", "Stolen Vehicle (county 12)")
        assert report.complete

    def test_broken_lines_and_matching_footer(self) -> None:
        batch = ImportBatch(HotlistSource.CA_DOJ_STOLEN_PLATE, RECEIVED_AT)
        text = (
            "DATE03/01/2026 05:00\n"
            "7ABC123 CA1920260227\n"
            "7ABC124 CA19202602\n"
            "7ABC125 CA1920261327\n"
            "7ABC126 CA1920260227 EXTRA\n"
            "TOTAL RECORD 0000004\n"
        )
        report = import_hotlist(text, batch)
        assert [line.line_no for line in report.accepted] == [2]
        assert _refusals(report) == [(3, "wrong_width"), (4, "bad_date"), (5, "wrong_width")]
        assert report.complete

    @pytest.mark.parametrize(
        ("name", "source"),
        [
            ("svs.tbl", HotlistSource.CA_DOJ_STOLEN_VEHICLE),
            ("/in/SFR.TBL", HotlistSource.CA_DOJ_FELONY_VEHICLE),
            ("clew_slr.tbl", HotlistSource.CA_DOJ_STOLEN_PLATE),
        ],
    )
    def test_list_from_file_name(self, name: str, source: HotlistSource) -> None:
        assert clew_source(name) is source

    def test_unknown_file_name_refused(self) -> None:
        with pytest.raises(InvalidInput) as refused:
            clew_source("hotlist.tbl")
        assert refused.value.code == "unknown_clew_list"

    def test_header_without_footer_is_incomplete(self) -> None:
        batch = ImportBatch(HotlistSource.CA_DOJ_STOLEN_PLATE, RECEIVED_AT)
        report = import_hotlist("DATE03/01/2026 05:00\n7ABC123 CA1920260227\n", batch)
        assert len(report.entries) == 1
        assert _refusals(report) == [(0, "missing_footer")]
        assert not report.complete
