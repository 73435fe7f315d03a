"""The transparency page's figures that the audit log holds: searches, denials, prohibited-purpose refusals."""

from __future__ import annotations

from libs.common.contracts.transparency import MonthlyFigures, MonthlyQuery
from libs.common.db import UnitOfWork
from libs.common.monthly_figures import monthly_counts


class FigureDesk:
    """The audit log's monthly counts, from counters the append's trigger keeps; no person leaves."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def monthly(self, query: MonthlyQuery) -> MonthlyFigures:
        async with self.uow() as session:
            return MonthlyFigures(counts=await monthly_counts(session, since=query.since))
