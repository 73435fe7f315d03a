"""The public transparency page: the monthly figures each service keeps, and the partners in force by name.

Subjects (request/reply): `alpr.records.figures.monthly` (queue `records`), `alpr.audit.figures.monthly`
(queue `audit`), `alpr.sharing.figures.monthly` and `alpr.sharing.partners.public` (queue `sharing`).
Counts and agency names only: no person, plate or case number travels on these subjects.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator

from libs.common.endpoint import Endpoint

# The page's figures in the order it shows them; each is kept by the service that owns the fact.
FigureName = Literal[
    "reads",
    "hotlist_hits",
    "searches",
    "denied_searches",
    "prohibited_purpose_refusals",
    "partner_shares",
    "alert_dispositions",
    "misreads_corrected",
]
FIGURES: tuple[FigureName, ...] = get_args(FigureName)
RECORDS_FIGURES: tuple[FigureName, ...] = ("reads", "hotlist_hits", "alert_dispositions", "misreads_corrected")
AUDIT_FIGURES: tuple[FigureName, ...] = ("searches", "denied_searches", "prohibited_purpose_refusals")
SHARING_FIGURES: tuple[FigureName, ...] = ("partner_shares",)
MAX_MONTHS = 36


class MonthlyQuery(BaseModel):
    """The months wanted: from the first day of `since`'s month onwards."""

    since: date

    @field_validator("since")
    @classmethod
    def _first_of_a_month(cls, value: date) -> date:
        if value.day != 1 or not 2000 <= value.year <= 9999:
            raise ValueError("since must be the first day of a month, year 2000 or later")
        return value


class MonthCount(BaseModel):
    """How many times a figure happened in a month (UTC)."""

    month: date
    figure: FigureName
    n: int = Field(ge=0)


class MonthlyFigures(BaseModel):
    counts: list[MonthCount]


class RetentionFacts(BaseModel):
    """What records keeps and for how long, computed with the purge's own cutoff functions."""

    retention_days: int
    backup_window_days: int  # the backups' recovery window
    backup_interval_days: int  # days between base backups: the last one before the window outlives it by this
    retention_check_slack_days: int  # how late an expired backup may be deleted
    backup_margin_days: int  # the three summed: how long a backup may hold a read the live database purged
    active_retention_days: int  # retention_days - backup_margin_days
    reads_kept_since: datetime
    unmatched_retention_days: int | None = None
    unmatched_kept_since: datetime | None = None


class RecordsFigures(MonthlyFigures):
    retention: RetentionFacts


class PublicPartner(BaseModel):
    """A partner agency holding an agreement in force: the agency, never a person of it."""

    name: str
    ori: str
    agreement_starts: datetime
    agreement_ends: datetime


class PublicPartners(BaseModel):
    partners: list[PublicPartner]


class PublicPartnersQuery(BaseModel):
    """No parameters: the partners in force now."""


RECORDS_MONTHLY = Endpoint("alpr.records.figures.monthly", MonthlyQuery, RecordsFigures, queue="records")
AUDIT_MONTHLY = Endpoint("alpr.audit.figures.monthly", MonthlyQuery, MonthlyFigures, queue="audit")
SHARING_MONTHLY = Endpoint("alpr.sharing.figures.monthly", MonthlyQuery, MonthlyFigures, queue="sharing")
SHARING_PARTNERS_PUBLIC = Endpoint("alpr.sharing.partners.public", PublicPartnersQuery, PublicPartners, queue="sharing")
