"""The transparency page's figures that records keeps: monthly counts and what retention keeps, for how long."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from libs.common.contracts.transparency import RECORDS_MONTHLY, MonthlyQuery, RecordsFigures, RetentionFacts
from libs.common.db import UnitOfWork
from libs.common.endpoint import Endpoint
from libs.common.monthly_figures import monthly_counts
from services.records.retention.service import unmatched_cutoff
from services.records.settings import RecordsSettings


def retention_facts(settings: RecordsSettings, now: datetime) -> RetentionFacts:
    """The periods and the cutoffs the purge applies now, from its own functions."""
    return RetentionFacts(
        **settings.retention_periods(now),
        unmatched_retention_days=settings.unmatched_retention_days,
        unmatched_kept_since=unmatched_cutoff(now, settings),
    )


class FigureDesk:
    """Answers `RECORDS_MONTHLY`: counts kept by the database's triggers, no personal data."""

    def __init__(self, settings: RecordsSettings, uow: UnitOfWork) -> None:
        self.settings = settings
        self.uow = uow

    async def monthly(self, query: MonthlyQuery) -> RecordsFigures:
        """Reads, hotlist hits, alert dispositions and misreads corrected per month, and retention now."""
        async with self.uow() as session:
            counts = await monthly_counts(session, since=query.since)
        return RecordsFigures(counts=counts, retention=retention_facts(self.settings, datetime.now(UTC)))


def routes(desk: FigureDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """The transparency page's records figures, with their handler."""
    return [(RECORDS_MONTHLY, desk.monthly)]
