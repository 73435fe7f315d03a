"""Genetec AutoVu hotlist and permit source files (FORMATS.md §3.4), delimited by `;`, `:`, `,` or a tab."""

from __future__ import annotations

from services.records.hotlists.entries import HotlistEntryIn
from services.records.hotlists.importers.batch import ImportBatch, numbered_lines
from services.records.hotlists.importers.report import HotlistFormat, ImportReport, LineRefused

GENETEC_DELIMITERS = (";", "\t", ":", ",")
GENETEC_ATTRIBUTES = ("category", "platestate", "platenumber", "effectivedate", "expirydate", "permitid")
_KNOWN = frozenset(GENETEC_ATTRIBUTES) | {"priority"}
_ISO_DAY = "%Y-%m-%d"


def genetec_delimiter(line: str) -> str:
    """The delimiter of a line: `;` by default, else the most frequent of the alternatives Genetec allows."""
    counts = {delimiter: line.count(delimiter) for delimiter in GENETEC_DELIMITERS}
    best = max(GENETEC_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return ";" if counts[";"] or not counts[best] else best


def parse_genetec(text: str, batch: ImportBatch) -> ImportReport:
    """Parse a delimited Genetec file: a header row of attribute names if present, else the default order."""
    report = ImportReport(HotlistFormat.GENETEC)
    columns: list[str] | None = None
    delimiter = ""
    for line_no, line in numbered_lines(text):
        if not delimiter:
            delimiter = genetec_delimiter(line)
        cells = [cell.strip() for cell in line.split(delimiter)]
        if columns is None and "platenumber" in (cell.lower() for cell in cells):
            columns = [cell.lower() for cell in cells]
            report.skipped.append(line_no)
            continue
        # Without a header the attributes come in the default order; Category is optional (5.12), so a
        # five-column line starts at PlateState, as the documented permit example does.
        names = columns or list(GENETEC_ATTRIBUTES[6 - len(cells) :] if 5 <= len(cells) <= 6 else ())
        try:
            if len(names) != len(cells):
                expected = len(names) or "5 or 6"
                raise LineRefused("wrong_column_count", f"{len(cells)} columns, expected {expected}")
            report.accept(line_no, _record(dict(zip(names, cells, strict=True)), batch))
        except LineRefused as refusal:
            report.refuse(line_no, refusal.code, refusal.message, line)
    return report


def _record(cells: dict[str, str], batch: ImportBatch) -> HotlistEntryIn:
    # Extra attributes are annotation fields shown on hits; keep them in the reason.
    extra = {name: value for name, value in cells.items() if name not in _KNOWN and value}
    annotations = "; ".join(f"{name}={value}" for name, value in extra.items())
    reason = " - ".join(part for part in (cells.get("category", ""), annotations) if part)
    return batch.entry(
        plate=batch.plate(cells.get("platenumber", "")),
        state=batch.state(cells.get("platestate", "")),
        entered_at=batch.date(cells.get("effectivedate", ""), _ISO_DAY),
        expires_on=batch.date(cells.get("expirydate", ""), _ISO_DAY),
        case_number=cells.get("permitid"),
        reason=reason,
        priority=batch.number(cells.get("priority", ""), "priority"),
    )
