"""Legal holds (B2), the retention purge (B1, B3, B5) and corrections (G3) between the gateway and records."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from libs.common.contracts.audit import RecordedRequest
from libs.common.endpoint import Endpoint
from libs.common.validation import Note

HoldStatus = Literal["pending", "active", "rejected", "released", "lapsed"]
MAX_HOLDS_PAGE = 500


class HoldSelection(BaseModel):
    """Which reads a hold keeps: named reads, or one plate over a time window."""

    read_ids: list[str] = Field(default_factory=list, max_length=10_000)
    plate: str | None = Field(default=None, max_length=15)
    since: datetime | None = None
    until: datetime | None = None


class HoldCreate(RecordedRequest):
    case_number: str
    justification: str
    review_date: date
    selection: HoldSelection
    requester_sub: str
    requester_name: str | None = None


class HoldDecision(RecordedRequest):
    hold_id: str
    approve: bool
    reason: Note | None = Field(default=None, max_length=2000)  # None only from a deprecated decision shape
    approver_sub: str
    approver_name: str | None = None


class HoldEnd(RecordedRequest):
    hold_id: str
    ended_by: str
    reason: str


class HoldLookup(BaseModel):
    hold_id: str


class HoldList(BaseModel):
    status: HoldStatus | None = None
    case_number: str | None = None  # one case's holds; None for a supervisor's review of all
    before: str | None = Field(default=None, max_length=36)  # the last hold of the previous page
    limit: int = Field(default=MAX_HOLDS_PAGE, ge=1, le=MAX_HOLDS_PAGE)


class HoldView(BaseModel):
    hold_id: str
    case_number: str
    justification: str
    status: HoldStatus
    review_date: date
    requester_sub: str
    requester_name: str | None = None
    approver_sub: str | None = None
    approver_name: str | None = None
    selection: HoldSelection
    created_at: datetime
    decided_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    held_copies: int = 0


class HoldViews(BaseModel):
    holds: list[HoldView]
    next_before: str | None = None  # pass as `before` for the next (older) page


class PurgeRequest(BaseModel):
    """On demand (tests, `alpr purge --now`); `now` may only lie in the past, never purge ahead of time."""

    now: datetime | None = None


class PurgeReport(BaseModel):
    ran: bool
    certificate_id: str | None = None
    cutoff: datetime | None = None
    partitions_dropped: list[str] = Field(default_factory=list)
    reads_purged: int = 0
    images_purged: int = 0
    reads_held: int = 0
    unmatched_purged: int = 0
    held_released: int = 0
    holds_lapsed: list[str] = Field(default_factory=list)


class CorrectionRequest(RecordedRequest):
    read_id: str
    plate: str = Field(min_length=1, max_length=15)
    state: str | None = Field(default=None, max_length=3)
    reason: str
    corrected_by: str


class CorrectionReply(BaseModel):
    read_id: str
    supersedes: str
    version: int
    plate: str
    state: str | None = None
    # alerts raised because the corrected plate is listed (none where the read already alerted on that plate)
    alert_ids: list[str] = Field(default_factory=list)


# records answers these in queue group `records`; the gateway asks, the purge CLI asks PURGE
HOLD_CREATE = Endpoint("alpr.records.holds.create", HoldCreate, HoldView, queue="records")
HOLD_DECIDE = Endpoint("alpr.records.holds.decide", HoldDecision, HoldView, queue="records")
HOLD_END = Endpoint("alpr.records.holds.end", HoldEnd, HoldView, queue="records")
HOLD_GET = Endpoint("alpr.records.holds.get", HoldLookup, HoldView, queue="records")
HOLD_LIST = Endpoint("alpr.records.holds.list", HoldList, HoldViews, queue="records")
PURGE = Endpoint("alpr.records.purge", PurgeRequest, PurgeReport, queue="records")
CORRECTION_CREATE = Endpoint("alpr.records.corrections.create", CorrectionRequest, CorrectionReply, queue="records")
