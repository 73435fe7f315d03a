"""Gateway ↔ records (`PURGE_ORDER`, `CERTIFICATES`): the custodian's purge order and the deletion certificates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from libs.common.contracts.audit import RecordedRequest
from libs.common.contracts.holds import PurgeReport
from libs.common.endpoint import Endpoint
from libs.common.validation import AwareInstant, Note

MAX_CERTIFICATES_PAGE = 200


class PurgeOrder(RecordedRequest):
    """A person orders a purge now; its record (who, badge, reason) is persisted before anything is purged."""

    reason: Note = Field(min_length=20, max_length=2000)


class CertificateQuery(BaseModel):
    """Deletion certificates issued in [since, until), newest first, a page after the certificate `before`."""

    since: AwareInstant | None = None
    until: AwareInstant | None = None
    before: str | None = Field(default=None, max_length=36)
    limit: int = Field(default=50, ge=1, le=MAX_CERTIFICATES_PAGE)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must come after since")
        return self


class DeletionCertificate(BaseModel):
    """B3: what one purge removed and kept, as the audit log holds it; `ordered_by` when a person ordered it."""

    certificate_id: str
    issued_at: datetime
    published_at: datetime | None = Field(description="When it reached the audit stream; None: not yet")
    captured_before: datetime
    reads_purged: int
    images_purged: int
    unmatched_purged: int
    reads_held: int
    held_released: int
    holds_lapsed: int
    ordered_by: dict[str, Any] | None = None
    details: dict[str, Any] = Field(description="The certificate as written to the audit log")


class CertificatePage(BaseModel):
    certificates: list[DeletionCertificate]
    next_before: str | None = Field(default=None, description="Pass as `before` for the next (older) page")


class PurgeOrderReply(BaseModel):
    """What the ordered purge did, and the certificate it wrote."""

    report: PurgeReport
    certificate: DeletionCertificate


# records answers these in queue group `records`; the gateway asks for the custodian
PURGE_ORDER = Endpoint("alpr.records.purges.order", PurgeOrder, PurgeOrderReply, queue="records")
CERTIFICATES = Endpoint("alpr.records.purges.certificates", CertificateQuery, CertificatePage, queue="records")
