"""NCIC / state vehicle extracts (FORMATS.md §12.2): the fixed-width `VEHEXTRT.txt` and its comma variants."""

from __future__ import annotations

import re

from services.records.hotlists.entries import HotlistEntryIn
from services.records.hotlists.importers.batch import ImportBatch, numbered_lines
from services.records.hotlists.importers.report import HotlistFormat, ImportReport, LineRefused

# Record/file type letter (char 0 of the NIC) → list name, as `parsers/ncic.py` and the TX/MN files use them.
NCIC_RECORD_TYPES = {
    "A": "Amber Alert",
    "B": "Stolen Boat",
    "C": "Supervised Release",
    "F": "Felony",
    "H": "Protection Order",
    "K": "Protective Interest",
    "L": "Violent Person",
    "M": "Missing Person",
    "N": "Deported Felon / Immigration Violator",
    "P": "Stolen Plate",
    "R": "Stolen Canadian Vehicle/Plate",
    "T": "Gang/Terrorist Member",
    "V": "Stolen Vehicle",
    "W": "Wanted Person",
    "X": "Sex Offender",
}

FIXED_MIN_WIDTH = 39  # NIC, ORI, date, plate and state are the least a record can hold
FIXED_RECORD = re.compile(r"^[A-Z0-9]{10}[A-Z0-9 ]{9}\d{8}")
_DAY = "%Y%m%d"


def parse_ncic_fixed(text: str, batch: ImportBatch) -> ImportReport:
    """Parse the fixed-width extract; a first line that is not a record is the header."""
    report = ImportReport(HotlistFormat.NCIC_FIXED)
    for index, (line_no, line) in enumerate(numbered_lines(text)):
        if index == 0 and not FIXED_RECORD.match(line):
            report.skipped.append(line_no)
            continue
        try:
            entry = _fixed_record(line, batch)
        except LineRefused as refusal:
            report.refuse(line_no, refusal.code, refusal.message, line)
        else:
            report.accept(line_no, entry)
    return report


def _fixed_record(line: str, batch: ImportBatch) -> HotlistEntryIn:
    if len(line.rstrip()) < FIXED_MIN_WIDTH:
        raise LineRefused("wrong_width", f"{len(line.rstrip())} characters, a record needs {FIXED_MIN_WIDTH}")
    nic = line[0:10].strip()
    description = line[65:100].strip()
    return _vehicle_entry(
        batch,
        nic=nic,
        record_type=nic[:1],
        ori=line[10:19],
        day=line[19:27],
        plate=line[27:37],
        state=line[37:39],
        vehicle=(line[45:49], line[49:53], line[53:56], line[56:58], line[58:65]),
        description=description,
    )


def parse_ncic_comma(text: str, batch: ImportBatch) -> ImportReport:
    """Parse the MN/KS (12 columns), TX NCIC (11, no plate type) and TX TCIC (8) comma variants."""
    report = ImportReport(HotlistFormat.NCIC_COMMA)
    for index, (line_no, line) in enumerate(numbered_lines(text)):
        if index == 0 and not any(char.isdigit() for char in line):
            report.skipped.append(line_no)  # column names: every record holds a date
            continue
        try:
            entry = _comma_record([cell.strip() for cell in line.split(",")], batch)
        except LineRefused as refusal:
            report.refuse(line_no, refusal.code, refusal.message, line)
        else:
            report.accept(line_no, entry)
    return report


def _comma_record(cells: list[str], batch: ImportBatch) -> HotlistEntryIn:
    if len(cells) == 8:
        record_id, plate, state, *vehicle = cells
        # TCIC codes (E/M/O/P/T/V/W/X/Y) are the second character and are not NCIC's, so no list name.
        return _vehicle_entry(
            batch,
            nic=record_id,
            record_type=record_id[1:2],
            ori="",
            day="",
            plate=plate,
            state=state,
            vehicle=tuple(vehicle),
            description="",
            named=False,
        )
    if len(cells) == 12:
        nic, ori, day, plate, state, _plate_year, _plate_type, *vehicle = cells
    elif len(cells) == 11:
        nic, ori, day, plate, state, _plate_year, *vehicle = cells
    else:
        raise LineRefused("wrong_column_count", f"{len(cells)} columns, expected 8, 11 or 12")
    if not day.isdigit():
        raise LineRefused("bad_date", f"date {day!r} is not YYYYMMDD")
    return _vehicle_entry(
        batch,
        nic=nic,
        record_type=nic[:1],
        ori=ori,
        day=day,
        plate=plate,
        state=state,
        vehicle=tuple(vehicle),
        description="",
    )


def _vehicle_entry(
    batch: ImportBatch,
    *,
    nic: str,
    record_type: str,
    ori: str,
    day: str,
    plate: str,
    state: str,
    vehicle: tuple[str, ...],
    description: str,
    named: bool = True,
) -> HotlistEntryIn:
    year, make, model, style, colour = (part.strip() for part in vehicle)
    list_name = NCIC_RECORD_TYPES.get(record_type) if named else None
    reason = " - ".join(part for part in (list_name, description) if part)
    return batch.entry(
        plate=batch.plate(plate),
        state=batch.state(state),
        entered_at=batch.date(day, _DAY),
        ncic_record_type=record_type or None,
        reason=reason,
        nic=nic if len(nic) > 1 else None,  # MN writes the bare type letter where others write the NIC
        ori=ori.strip(),
        vehicle_year=batch.number(year, "vehicle year"),
        make=make,
        model=model,
        style=style,
        colour=colour,
    )
