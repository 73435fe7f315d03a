"""The audit export as CSV an auditor opens in a spreadsheet: one flat column per field A1 names (who, badge,
agency, use, case, reason, plate, how many results), every cell formula-safe. Pure: no I/O here.

The exact text each record's hash covers is in the JSON export (`actor_json`, `payload_json`); the CSV is for
reading, the JSON for recomputing the chain.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from libs.common.contracts.auditing import StoredRecord
from services.gateway.api.custodian.ledger_csv import safe_cell

COLUMNS = (
    "seq",
    "event_id",
    "event_type",
    "occurred_at",
    "recorded_at",
    "outcome",
    "actor_kind",
    "actor_sub",
    "actor_name",
    "actor_badge",
    "actor_agency",
    "actor_unit",
    "actor_roles",
    "use",
    "case_number",
    "reason",
    "plate",
    "query",
    "result_count",
    "result_ids",
    "client_address",
    "details",
    "prev_hash",
    "hash",
)


def _pairs(mapping: dict[str, Any] | None, *, leave_out: tuple[str, ...] = ()) -> str:
    """`key=value; …` in key order: what a query or details held, readable without parsing JSON."""
    items = sorted((k, v) for k, v in (mapping or {}).items() if k not in leave_out and v not in (None, "", []))
    return "; ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in items)


def flat_row(record: StoredRecord) -> list[str]:
    """One record as the cells of COLUMNS."""
    actor, payload = record.actor, record.payload
    purpose = payload.get("purpose") or {}
    query = payload.get("query") or {}
    row: dict[str, Any] = {
        "seq": record.seq,
        "event_id": record.event_id,
        "event_type": record.event_type,
        "occurred_at": record.occurred_at.isoformat(),
        "recorded_at": record.recorded_at.isoformat() if record.recorded_at else None,
        "outcome": payload.get("outcome"),
        "actor_kind": actor.get("kind"),
        "actor_sub": actor.get("sub"),
        "actor_name": actor.get("name"),
        "actor_badge": actor.get("badge"),
        "actor_agency": actor.get("agency"),
        "actor_unit": actor.get("unit"),
        "actor_roles": " ".join(actor.get("roles") or []),
        "use": purpose.get("use"),
        "case_number": purpose.get("case_number"),
        "reason": purpose.get("reason"),
        "plate": query.get("plate"),
        "query": _pairs(query, leave_out=("plate",)),
        "result_count": payload.get("result_count"),
        "result_ids": " ".join(payload.get("result_ids") or []),
        "client_address": payload.get("client_address"),
        "details": _pairs(payload.get("details")),
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }
    return [safe_cell(row[column]) for column in COLUMNS]


def csv_lines(records: Iterable[StoredRecord], *, header: bool = False) -> str:
    """The CSV text of these records, with the header row first when asked."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows(flat_row(record) for record in records)
    return buffer.getvalue()
