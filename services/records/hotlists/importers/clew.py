"""California DOJ CLEW `.tbl` files (FORMATS.md §12.3): `svs` stolen vehicles, `sfr` felony, `slr` plates."""

from __future__ import annotations

import re
from pathlib import PurePath

from libs.common.errors import InvalidInput
from services.records.hotlists.entries import HotlistEntryIn, HotlistSource
from services.records.hotlists.importers.batch import ImportBatch, numbered_lines
from services.records.hotlists.importers.report import HotlistFormat, ImportReport, LineRefused

CLEW_HEADER = re.compile(r"^DATE\d{2}/\d{2}/\d{4}")
CLEW_FOOTER = re.compile(r"^TOTAL RECORD\s*(\d+)\s*$")
CLEW_RECORD_WIDTH = 20  # plate 8, state 2, county 2, date of loss 8
_TAIL_WIDTH = 12  # state, county and date: the fixed part at the end of every record
_TAIL = re.compile(r"^[A-Z0-9]{2}\d{10}$")

CLEW_SOURCES = {
    "svs": HotlistSource.CA_DOJ_STOLEN_VEHICLE,
    "sfr": HotlistSource.CA_DOJ_FELONY_VEHICLE,
    "slr": HotlistSource.CA_DOJ_STOLEN_PLATE,
}
_LIST_NAMES = {
    HotlistSource.CA_DOJ_STOLEN_VEHICLE: "Stolen Vehicle",
    HotlistSource.CA_DOJ_FELONY_VEHICLE: "Felony Vehicle",
    HotlistSource.CA_DOJ_STOLEN_PLATE: "Stolen Plate",
}


def clew_source(file_name: str) -> HotlistSource:
    """The list a CLEW file feeds, from its name (`svs.tbl`, `sfr.tbl`, `slr.tbl`): no column says it."""
    stem = PurePath(file_name).stem.lower()
    for prefix, source in CLEW_SOURCES.items():
        if stem.startswith(prefix) or stem.endswith(prefix):
            return source
    raise InvalidInput(f"{file_name!r} is not an svs, sfr or slr file", code="unknown_clew_list")


def parse_clew(text: str, batch: ImportBatch) -> ImportReport:
    """Parse a CLEW table; with a `DATE…` header the `TOTAL RECORD` footer must be present and agree."""
    report = ImportReport(HotlistFormat.CA_DOJ_CLEW)
    has_header = False
    footer: tuple[int, int] | None = None
    records = 0
    for line_no, line in numbered_lines(text):
        if CLEW_HEADER.match(line):
            has_header = True
            report.skipped.append(line_no)
            continue
        if counted := CLEW_FOOTER.match(line):
            footer = (line_no, int(counted.group(1)))
            report.skipped.append(line_no)
            continue
        records += 1
        try:
            report.accept(line_no, _record(line, batch))
        except LineRefused as refusal:
            report.refuse(line_no, refusal.code, refusal.message, line)
    if footer is None and has_header:
        report.refuse(0, "missing_footer", "the file has a header but no TOTAL RECORD line: truncated?")
    if footer is not None and footer[1] != records:
        report.refuse(footer[0], "footer_count_mismatch", f"footer says {footer[1]}, file holds {records}")
    return report


def _record(line: str, batch: ImportBatch) -> HotlistEntryIn:
    line = line.rstrip()
    # Read from the right: the tail is fixed, and hand-edited files pad the plate short (the sample
    # does); a short line is only taken when its tail is whole, else it is a cut record.
    short_but_whole = len(line) > _TAIL_WIDTH and _TAIL.match(line[-_TAIL_WIDTH:])
    if len(line) != CLEW_RECORD_WIDTH and not (len(line) < CLEW_RECORD_WIDTH and short_but_whole):
        raise LineRefused("wrong_width", f"{len(line)} characters, a record has {CLEW_RECORD_WIDTH}")
    plate, state, county, day = line[:-12], line[-12:-10], line[-10:-8], line[-8:]
    list_name = _LIST_NAMES.get(batch.source, "CLEW")
    return batch.entry(
        plate=batch.plate(plate),
        state=batch.state(state),
        entered_at=batch.date(day, "%Y%m%d"),
        reason=f"{list_name} (county {county})",
    )
