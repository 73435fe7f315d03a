"""Deletion certificates (B3) as records keeps them, for the custodian and the auditors; each look is recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from libs.common.contracts.retention import CERTIFICATES, MAX_CERTIFICATES_PAGE, CertificatePage, CertificateQuery
from libs.common.validation import AwareInstant
from services.gateway.api.audit.access import record_access
from services.gateway.api.custodian.period import check_period
from services.gateway.api.deps import AuditDep, StateDep, require
from services.gateway.service import Principal

router = APIRouter(prefix="/v1/admin", tags=["custodian"])

CertificateReader = Annotated[Principal, require("retention:certificates")]


@router.get("/deletion-certificates", response_model=CertificatePage)
async def deletion_certificates(
    principal: CertificateReader,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    since: Annotated[AwareInstant | None, Query(description="Issued at or after (with a time zone)")] = None,
    until: Annotated[AwareInstant | None, Query(description="Issued before (with a time zone)")] = None,
    before: Annotated[str | None, Query(max_length=36, description="`next_before` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CERTIFICATES_PAGE)] = 50,
) -> CertificatePage:
    """Certificates newest first, of a period when named; recorded before it is answered."""
    check_period(since, until)
    query = CertificateQuery(since=since, until=until, before=before, limit=limit)
    page = await rt.bus.call(CERTIFICATES, query)
    await record_access(
        rt,
        principal,
        request,
        "deletion_certificates",
        query.model_dump(mode="json"),
        [c.certificate_id for c in page.certificates],
    )
    return page
