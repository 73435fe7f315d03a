"""Hotlist file importers: each format parses to an `ImportReport`; `import_hotlist` picks the parser."""

from __future__ import annotations

from collections.abc import Callable

from services.records.hotlists.importers.batch import ImportBatch
from services.records.hotlists.importers.clew import clew_source, parse_clew
from services.records.hotlists.importers.detection import detect_format
from services.records.hotlists.importers.genetec import parse_genetec
from services.records.hotlists.importers.ncic import parse_ncic_comma, parse_ncic_fixed
from services.records.hotlists.importers.plain_csv import parse_plain_csv
from services.records.hotlists.importers.report import (
    AcceptedLine,
    HotlistFormat,
    ImportReport,
    RefusedLine,
)

PARSERS: dict[HotlistFormat, Callable[[str, ImportBatch], ImportReport]] = {
    HotlistFormat.NCIC_FIXED: parse_ncic_fixed,
    HotlistFormat.NCIC_COMMA: parse_ncic_comma,
    HotlistFormat.CA_DOJ_CLEW: parse_clew,
    HotlistFormat.GENETEC: parse_genetec,
    HotlistFormat.CSV: parse_plain_csv,
}


def import_hotlist(content: str | bytes, batch: ImportBatch, fmt: HotlistFormat | None = None) -> ImportReport:
    """Parse a hotlist file in `fmt`, or in the format its content shows; never raises on bad lines."""
    text = _decode(content) if isinstance(content, bytes) else content.removeprefix("\ufeff")
    if not text.strip():
        report = ImportReport(fmt)
        report.refuse(0, "empty_file", "the file holds no lines")
        return report
    fmt = fmt or detect_format(text)
    if fmt is None:
        report = ImportReport(None)
        report.refuse(0, "unknown_format", "no hotlist parser recognises this file")
        return report
    return PARSERS[fmt](text, batch)


def _decode(content: bytes) -> str:
    # Agency extracts are mostly ASCII; the odd Latin-1 byte should not cost the whole file.
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("latin-1")


__all__ = [
    "AcceptedLine",
    "HotlistFormat",
    "ImportBatch",
    "ImportReport",
    "RefusedLine",
    "clew_source",
    "detect_format",
    "import_hotlist",
]
