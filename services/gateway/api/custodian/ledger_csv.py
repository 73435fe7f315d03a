"""The share ledger as CSV, every cell safe to open in a spreadsheet. Pure: no I/O here."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from libs.common.contracts.ledger import LedgerEntry

COLUMNS = (
    "id",
    "at",
    "agreement_id",
    "agreement_version",
    "partner_ori",
    "client_id",
    "action",
    "requester_name",
    "requester_badge",
    "on_behalf_of_ori",
    "on_behalf_of_name",
    "use",
    "case_number",
    "reason",
    "query",
    "result_count",
    "result_ids",
)
# a spreadsheet reads a cell that starts with one of these as a formula (CSV injection, OWASP)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The cell's text, with a leading apostrophe where a spreadsheet would take it for a formula."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def ledger_csv(entries: list[LedgerEntry]) -> str:
    """A header row, then one row per entry: who asked, for whom and why in columns of their own."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        row = {
            **entry.model_dump(mode="json", include={"id", "at", "agreement_id", "agreement_version"}),
            **entry.model_dump(mode="json", include={"partner_ori", "client_id", "action", "query", "result_count"}),
            "requester_name": entry.requester.get("name"),
            "requester_badge": entry.requester.get("badge"),
            "on_behalf_of_ori": entry.on_behalf_of.get("ori"),
            "on_behalf_of_name": entry.on_behalf_of.get("name"),
            "use": entry.purpose.get("use"),
            "case_number": entry.purpose.get("case_number"),
            "reason": entry.purpose.get("reason"),
            "result_ids": " ".join(entry.result_ids),
        }
        writer.writerow([safe_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()
