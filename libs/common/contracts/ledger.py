"""Gateway ↔ sharing over `alpr.sharing.ledger.list`: the share ledger (C4) read by those who oversee sharing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator

from libs.common.endpoint import Endpoint
from libs.common.validation import AwareInstant, Line

MAX_LEDGER_PAGE = 1000
ORI_PATTERN = r"^CA[0-9A-Z]{7}$"


class LedgerQuery(BaseModel):
    """Entries of one agreement or partner agency in [since, until), newest first, older than `before_id`."""

    agreement_id: Line | None = Field(default=None, min_length=1, max_length=64)
    partner_ori: str | None = Field(default=None, pattern=ORI_PATTERN)
    since: AwareInstant | None = None
    until: AwareInstant | None = None
    before_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    limit: int = Field(default=100, ge=1, le=MAX_LEDGER_PAGE)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until must come after since")
        return self


class LedgerEntry(BaseModel):
    """One partner request and what it was given."""

    id: int
    at: datetime
    agreement_id: str
    agreement_version: int | None
    partner_ori: str
    client_id: str | None
    action: str
    requester: dict[str, Any]
    on_behalf_of: dict[str, Any]
    purpose: dict[str, Any]
    query: dict[str, Any]
    result_count: int
    result_ids: list[str]


class LedgerPage(BaseModel):
    entries: list[LedgerEntry]
    next_before_id: int | None = Field(default=None, description="Pass as `before_id` for the next (older) page")


LEDGER_LIST = Endpoint("alpr.sharing.ledger.list", LedgerQuery, LedgerPage, queue="sharing")
