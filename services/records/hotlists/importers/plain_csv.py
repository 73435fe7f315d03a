"""Plain CSV with a header row (`plate,state,reason,...`), OpenALPR's normal form included (§12.1)."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.records.hotlists.entries import HotlistEntryIn
from services.records.hotlists.importers.batch import ImportBatch
from services.records.hotlists.importers.report import HotlistFormat, ImportReport, LineRefused

# Header names → entry fields; the aliases are the names agencies and OpenALPR's export use.
CSV_COLUMNS = {
    "plate": "plate", "plate number": "plate", "plate_number": "plate", "lic": "plate",
    "state": "state", "state/province": "state", "lis": "state",
    "reason": "reason", "description": "reason",
    "case_number": "case_number", "case": "case_number",
    "nic": "nic", "ori": "ori", "ncic_record_type": "ncic_record_type",
    "vehicle_year": "vehicle_year", "year": "vehicle_year",
    "make": "make", "model": "model", "style": "style", "colour": "colour", "color": "colour",
    "priority": "priority", "entered_at": "entered_at", "expires_at": "expires_at",
}  # fmt: skip


def is_plain_csv_header(line: str) -> bool:
    """Whether a first line is a CSV header naming a plate column."""
    return any(CSV_COLUMNS.get(cell.strip().lower()) == "plate" for cell in line.split(","))


def parse_plain_csv(text: str, batch: ImportBatch) -> ImportReport:
    """Parse rows by header name; unknown columns are ignored and a row needs at least a plate."""
    report = ImportReport(HotlistFormat.CSV)
    rows = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for row in rows:
        line_no = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [CSV_COLUMNS.get(cell.strip().lower(), "") for cell in row]
            report.skipped.append(line_no)
            if "plate" not in header:
                report.refuse(line_no, "missing_plate_column", "the header names no plate column")
                return report
            continue
        try:
            if len(row) != len(header):
                raise LineRefused("wrong_column_count", f"{len(row)} columns, the header has {len(header)}")
            cells = {name: cell.strip() for name, cell in zip(header, row, strict=True) if name}
            report.accept(line_no, _record(cells, batch))
        except LineRefused as refusal:
            report.refuse(line_no, refusal.code, refusal.message, ",".join(row))
    return report


def _record(cells: dict[str, Any], batch: ImportBatch) -> HotlistEntryIn:
    expires = batch.instant(cells.pop("expires_at", ""))
    return batch.entry(
        plate=batch.plate(cells.pop("plate")),
        state=batch.state(cells.pop("state", "")),
        entered_at=batch.instant(cells.pop("entered_at", "")),
        expires_at=expires,
        vehicle_year=batch.number(cells.pop("vehicle_year", ""), "vehicle year"),
        priority=batch.number(cells.pop("priority", ""), "priority"),
        **cells,
    )
