"""`alpr.gateway.tally`: the gateway's own count of data accesses, for the audit service's daily check (A5)."""

from __future__ import annotations

from libs.common.bus import Bus
from libs.common.contracts.audit import EventType
from libs.common.contracts.auditing import TALLY, TallyQuery, TallyReply
from libs.common.db import UnitOfWork
from services.gateway import repository

# Every kind of access the gateway answers, counted as it answers (api/accesses.py); the audit log's
# records of these types must match.
TALLIED_TYPES = tuple(
    t.value
    for t in (
        EventType.SEARCH,
        EventType.READ_VIEW,
        EventType.IMAGE_VIEW,
        EventType.EXPORT,
        EventType.ALERT_VIEW,
        EventType.ALERT_VERIFICATION,
        EventType.HOTLIST_VIEW,
        EventType.HOLD_VIEW,
        EventType.PARTNER_QUERY,
        EventType.AUDIT_ACCESS,
    )
)


async def serve_tally(bus: Bus, uow: UnitOfWork) -> None:
    """Answer the audit service's request for one day's tally."""

    async def tally(query: TallyQuery) -> TallyReply:
        async with uow() as session:
            counts = await repository.tally_of_day(session, day=query.day)
        return TallyReply(day=query.day, counts=counts, counted_types=sorted(set(TALLIED_TYPES) | set(counts)))

    await bus.serve(TALLY, tally)
