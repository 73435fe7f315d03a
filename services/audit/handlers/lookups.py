"""What other services may look up in the log: a search a later view follows from, the flagged attempts (A3)."""

from __future__ import annotations

import json

from libs.common.contracts.audit import EventLookup, EventSummary
from libs.common.contracts.oversight import FlaggedAttempt, FlagsQuery, FlagsReply
from libs.common.db import UnitOfWork
from libs.common.errors import NotFound
from services.audit import repository


class RecordLookups:
    """Answers the gateway's lookups of single records and of the flagged refusals."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def flags(self, query: FlagsQuery) -> FlagsReply:
        """A3: prohibited-purpose attempts, for the admins' and auditors' listing at the gateway."""
        async with self.uow() as session:
            rows = await repository.flagged_attempts(session, since=query.since, limit=query.limit)
        flags = []
        for row in rows:
            payload = json.loads(row.payload)
            flags.append(
                FlaggedAttempt(
                    event_id=row.event_id,
                    occurred_at=row.occurred_at,
                    actor=json.loads(row.actor),
                    purpose=payload.get("purpose"),
                    refusal=str(payload.get("details", {}).get("refusal", "")),
                    route=payload.get("details", {}).get("route"),
                    query=payload.get("query") or {},
                )
            )
        return FlagsReply(flags=flags)

    async def event_summary(self, query: EventLookup) -> EventSummary:
        """Tie a later view to the search it follows from."""
        async with self.uow() as session:
            link = await repository.find_link(session, event_id=query.event_id)
        if link is None:
            raise NotFound("no such event", code="event_not_found")
        actor = json.loads(link.actor) if isinstance(link.actor, str) else dict(link.actor)
        payload = json.loads(link.payload) if isinstance(link.payload, str) else dict(link.payload)
        return EventSummary(
            event_id=link.event_id,
            event_type=link.event_type,
            actor_sub=actor.get("sub", ""),
            purpose=payload.get("purpose"),
            result_ids=payload.get("result_ids", []),
        )
