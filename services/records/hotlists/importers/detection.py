"""Recognising a hotlist file's format from its first lines when the caller does not name it."""

from __future__ import annotations

import re

from services.records.hotlists.importers.clew import CLEW_FOOTER, CLEW_HEADER
from services.records.hotlists.importers.genetec import GENETEC_DELIMITERS, genetec_delimiter
from services.records.hotlists.importers.ncic import FIXED_MIN_WIDTH, FIXED_RECORD
from services.records.hotlists.importers.plain_csv import is_plain_csv_header
from services.records.hotlists.importers.report import HotlistFormat

_CLEW_RECORD = re.compile(r"^[A-Z0-9 -]{1,8}[A-Z0-9]{2}\d{10}\s*$")  # plate, state, county, YYYYMMDD
_DAY = re.compile(r"^\d{8}$")
_YEAR = re.compile(r"^\d{4}$")
_SAMPLE_LINES = 5


def detect_format(text: str) -> HotlistFormat | None:
    """The format of a file from its content, or None when no parser recognises it."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    head = lines[:_SAMPLE_LINES]
    if CLEW_HEADER.match(head[0]) or CLEW_FOOTER.match(lines[-1]) or _CLEW_RECORD.match(head[0]):
        return HotlistFormat.CA_DOJ_CLEW
    if "platenumber" in head[0].lower():
        return HotlistFormat.GENETEC
    if is_plain_csv_header(head[0]):
        return HotlistFormat.CSV
    if any(_is_ncic_fixed(line) for line in head):
        return HotlistFormat.NCIC_FIXED
    if any(_is_ncic_comma(line.split(",")) for line in head):
        return HotlistFormat.NCIC_COMMA
    if any(_is_genetec(line) for line in head):
        return HotlistFormat.GENETEC
    return None


def _is_ncic_fixed(line: str) -> bool:
    return len(line) >= FIXED_MIN_WIDTH and bool(FIXED_RECORD.match(line)) and not set(",;\t") & set(line)


def _is_ncic_comma(cells: list[str]) -> bool:
    cells = [cell.strip() for cell in cells]
    if len(cells) in (11, 12):
        return bool(_DAY.match(cells[2]))
    return len(cells) == 8 and bool(_YEAR.match(cells[3]))  # TX TCIC: id, plate, state, vehicle year…


def _is_genetec(line: str) -> bool:
    delimiter = genetec_delimiter(line)
    return delimiter in GENETEC_DELIMITERS and 5 <= len(line.split(delimiter)) <= 6
