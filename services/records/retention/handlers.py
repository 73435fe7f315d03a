"""`PURGE_ORDER` and `CERTIFICATES`: the custodian's purge order and the list of deletion certificates.

The gateway has checked the person's role and built the order's record; the job records it before it purges.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from libs.common.contracts.holds import PURGE
from libs.common.contracts.retention import (
    CERTIFICATES,
    PURGE_ORDER,
    CertificatePage,
    CertificateQuery,
    DeletionCertificate,
    PurgeOrder,
    PurgeOrderReply,
)
from libs.common.endpoint import Endpoint
from libs.common.errors import InvalidInput
from services.records.retention import repository
from services.records.retention.job import PurgeJob


class PurgeOrderDesk:
    """The purge on a person's order (one at a time across replicas), and the certificates purges wrote."""

    def __init__(self, job: PurgeJob) -> None:
        self.job = job

    async def order(self, request: PurgeOrder) -> PurgeOrderReply:
        """Purge now under the order's record; a purge already running makes this a `purge_running` refusal."""
        if request.audit is None:
            raise InvalidInput("a purge order carries its record", code="record_required")
        order = request.audit.model_copy(
            update={"details": {**request.audit.details, "reason": request.reason, "recorded": "before_purge"}}
        )
        report = await self.job.run(datetime.now(UTC), order=order)
        assert report.certificate_id is not None  # an order always certifies, even a purge that found nothing
        await self.job.await_persisted(report.certificate_id)
        async with self.job.uow() as session:
            row = await repository.get_certificate(session, event_id=report.certificate_id)
        assert row is not None
        return PurgeOrderReply(report=report, certificate=certificate_of(row))

    async def certificates(self, request: CertificateQuery) -> CertificatePage:
        """A page of certificates, newest first; `next_before` is set when older ones may follow."""
        before = _uuid(request.before) if request.before else None
        async with self.job.uow() as session:
            rows = await repository.list_certificates(
                session, since=request.since, until=request.until, before=before, limit=request.limit + 1
            )
        shown = [certificate_of(r) for r in rows[: request.limit]]
        more = len(rows) > request.limit
        return CertificatePage(certificates=shown, next_before=shown[-1].certificate_id if more else None)


def routes(desk: PurgeOrderDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """Retention's endpoints: the purge job's run on demand, the custodian's order, the certificates."""
    return [(PURGE, desk.job.on_demand), (PURGE_ORDER, desk.order), (CERTIFICATES, desk.certificates)]


def certificate_of(row: dict[str, Any]) -> DeletionCertificate:
    """A stored certificate as the contract shows it; its whole payload stays in `details`."""
    payload = row["payload"]
    lapsed = payload.get("holds_lapsed") or []
    return DeletionCertificate(
        certificate_id=row["event_id"],
        issued_at=row["created_at"],
        published_at=row["published_at"],
        captured_before=payload["range"]["captured_before"],
        reads_purged=payload.get("reads_purged", 0),
        images_purged=payload.get("images_purged", 0),
        unmatched_purged=payload.get("unmatched_purged", 0),
        reads_held=payload.get("reads_held", 0),
        held_released=payload.get("held_released", 0),
        holds_lapsed=len(lapsed) if isinstance(lapsed, list) else int(lapsed),
        ordered_by=payload.get("ordered_by"),
        details=payload,
    )


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidInput("before names no certificate", code="invalid_cursor", field="before") from exc
