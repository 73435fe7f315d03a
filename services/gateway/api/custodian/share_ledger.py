"""The share ledger (C4) for the custodian and the auditors: filtered, paged, as JSON or CSV; each read recorded.

The ledger says what was shared with whom and why, so reading it is an access: recorded, and counted for
the daily check (A5), before it is answered. A CSV download is recorded as an export.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from libs.common.contracts.audit import EventType
from libs.common.contracts.ledger import LEDGER_LIST, MAX_LEDGER_PAGE, ORI_PATTERN, LedgerPage, LedgerQuery
from libs.common.validation import AwareInstant, Line
from services.gateway.api.audit.access import record_access
from services.gateway.api.custodian.ledger_csv import ledger_csv
from services.gateway.api.custodian.period import check_period
from services.gateway.api.deps import AuditDep, StateDep, require
from services.gateway.service import Principal

router = APIRouter(prefix="/v1/admin", tags=["custodian"])

LedgerReader = Annotated[Principal, require("sharing:ledger")]
CSV = "text/csv"


def wants_csv(request: Request, format: str | None) -> bool:
    """`?format=` decides when given; otherwise an Accept naming text/csv (and not JSON first)."""
    if format is not None:
        return format == "csv"
    accepted = [part.split(";")[0].strip().lower() for part in request.headers.get("accept", "").split(",")]
    return CSV in accepted and (
        "application/json" not in accepted or accepted.index(CSV) < accepted.index("application/json")
    )


@router.get(
    "/share-ledger",
    response_model=LedgerPage,
    responses={200: {"content": {"application/json": {}, CSV: {}}}},
)
async def share_ledger(
    principal: LedgerReader,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    agreement_id: Annotated[Line | None, Query(min_length=1, max_length=64)] = None,
    agency: Annotated[str | None, Query(pattern=ORI_PATTERN, description="The partner agency's ORI")] = None,
    since: Annotated[AwareInstant | None, Query(description="Shared at or after (with a time zone)")] = None,
    until: Annotated[AwareInstant | None, Query(description="Shared before (with a time zone)")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="`next_before_id` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LEDGER_PAGE)] = 100,
    format: Annotated[Literal["json", "csv"] | None, Query(description="csv: a download (or Accept: text/csv)")] = None,
) -> LedgerPage | Response:
    """Ledger entries newest first; the next older page starts at `next_before_id`."""
    check_period(since, until)
    query = LedgerQuery(
        agreement_id=agreement_id, partner_ori=agency, since=since, until=until, before_id=before_id, limit=limit
    )
    page = await rt.bus.call(LEDGER_LIST, query)
    as_csv = wants_csv(request, format)
    await record_access(
        rt,
        principal,
        request,
        "share_ledger",
        {**query.model_dump(mode="json"), "format": "csv" if as_csv else "json"},
        [str(e.id) for e in page.entries],
        event_type=EventType.EXPORT if as_csv else EventType.AUDIT_ACCESS,
    )
    if not as_csv:
        return page
    headers = {"Content-Disposition": 'attachment; filename="share-ledger.csv"'}
    if page.next_before_id is not None:
        headers["X-Next-Before-Id"] = str(page.next_before_id)
    return Response(ledger_csv(page.entries), media_type=f"{CSV}; charset=utf-8", headers=headers)
