"""Reading a service's `monthly_figures` counters: records, audit and sharing keep them the same way."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.contracts.transparency import MonthCount


async def monthly_counts(session: AsyncSession, *, since: date) -> list[MonthCount]:
    """Each figure's total per month from `since` on; a month where nothing happened has no row."""
    rows = await session.execute(
        text(
            "SELECT month, figure, sum(n)::bigint AS n FROM monthly_figures WHERE month >= :since "
            "GROUP BY month, figure ORDER BY month, figure"
        ),
        {"since": since},
    )
    return [MonthCount(month=r.month, figure=r.figure, n=r.n) for r in rows]
