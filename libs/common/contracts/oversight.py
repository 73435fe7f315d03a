"""Gateway ↔ audit for oversight: flagged attempts for admins and auditors.

Endpoint (request/reply, queue group `audit`): `FLAGS`; the public figures are in `transparency`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from libs.common.endpoint import Endpoint


class FlagsQuery(BaseModel):
    since: datetime | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class FlaggedAttempt(BaseModel):
    """A refused access the policy says admins and auditors must see (A3: a prohibited purpose)."""

    event_id: str
    occurred_at: datetime
    actor: dict[str, Any]
    purpose: dict[str, Any] | None = None
    refusal: str
    route: str | None = None
    query: dict[str, Any] = Field(default_factory=dict)


class FlagsReply(BaseModel):
    flags: list[FlaggedAttempt]


FLAGS = Endpoint("alpr.audit.flags", FlagsQuery, FlagsReply, queue="audit")
