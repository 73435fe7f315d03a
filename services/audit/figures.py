"""The transparency page's figures that the audit log holds: searches, denials, prohibited-purpose refusals."""

from __future__ import annotations

from libs.common.bus import Bus
from libs.common.contracts.transparency import AUDIT_MONTHLY, MonthlyFigures, MonthlyQuery
from libs.common.db import UnitOfWork
from libs.common.monthly_figures import monthly_counts


class FigureHandlers:
    """Answers `alpr.audit.figures.monthly` from counters the append's trigger keeps; no person leaves."""

    def __init__(self, uow: UnitOfWork, bus: Bus) -> None:
        self.uow = uow
        self.bus = bus

    async def register(self) -> None:
        await self.bus.serve_subject(AUDIT_MONTHLY, MonthlyQuery, self.monthly, queue="audit")

    async def monthly(self, query: MonthlyQuery) -> MonthlyFigures:
        async with self.uow() as session:
            return MonthlyFigures(counts=await monthly_counts(session, since=query.since))
