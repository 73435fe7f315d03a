"""Hotlists exchanged with partner agencies, for sharing: what partners may receive, and a partner's own list.

A partner's list commits only once its access record (built by the gateway, completed here) is persisted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from libs.common.audit_trail import ChangeRecorder
from libs.common.contracts.hotlists import (
    HOTLIST_PARTNER_UPSERT,
    HOTLIST_SHAREABLE,
    PartnerUpsert,
    PartnerUpsertReply,
    ShareableEntry,
    ShareableList,
    ShareableQuery,
)
from libs.common.db import UnitOfWork
from libs.common.endpoint import Endpoint
from libs.common.errors import Conflict
from services.records.hotlists import repository
from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.follower import HotlistFollower
from services.records.hotlists.service import partner_entries, plan_import


class PartnerListDesk:
    """Our shareable lists for partners, and each partner's list, replaced whole (C5)."""

    def __init__(self, uow: UnitOfWork, changes: ChangeRecorder, follower: HotlistFollower, *, agency: str) -> None:
        self.uow = uow
        self.changes = changes
        self.follower = follower
        self.agency = agency

    async def shareable(self, request: ShareableQuery) -> ShareableList:
        now = datetime.now(UTC)
        async with self.uow() as session:
            rows = await repository.shareable_entries(session, since=request.since, now=now)
        refreshes = [r["list_refreshed_at"] or r["refreshed_at"] for r in rows]
        return ShareableList(
            agency=self.agency,
            generated_at=now,
            refreshed_at=min(refreshes) if refreshes else None,
            entries=[ShareableEntry.model_validate(r) for r in rows],
        )

    async def partner_upsert(self, request: PartnerUpsert) -> PartnerUpsertReply:
        """A partner's whole list replaces the one held for it; entries lapse 24 h after refresh (C5)."""
        now = datetime.now(UTC)
        report, refused = partner_entries(request.entries)
        async with self.changes(request.audit) as change:
            session = change.session
            await repository.lock_changes(session)
            hotlist = await repository.get_partner_hotlist(session, partner_ori=request.partner_ori)
            if hotlist is None:
                hotlist = await repository.create_hotlist(
                    session,
                    name=f"partner {request.partner_ori}"
                    + (f" ({request.partner_name})" if request.partner_name else ""),
                    source=HotlistSource.PARTNER,
                    description="entries received from a partner agency under an agreement",
                    shareable=False,
                    partner_ori=request.partner_ori,
                    agreement_id=request.agreement_id,
                )
                if hotlist is None:
                    raise Conflict("a list with this partner's name exists", code="hotlist_name_taken")
            hotlist_id = hotlist["hotlist_id"]
            held = await repository.held_entries(session, hotlist_id=hotlist_id)
            plan = plan_import("replace", held, report)
            seq = await repository.apply_plan(
                session, hotlist_id=hotlist_id, plan=plan, entered_by=f"partner:{request.partner_ori}"
            )
            refreshed_at = max((e.refreshed_at for e in report.entries), default=now)
            await repository.mark_refreshed(
                session, hotlist_id=hotlist_id, at=min(refreshed_at, now), agreement_id=request.agreement_id
            )
            reply = PartnerUpsertReply(
                hotlist_id=hotlist_id,
                accepted=len(report.accepted),
                refused=refused,
                added=len(plan.added),
                refreshed=len(plan.refreshed),
                removed=len(plan.removed),
            )
            change.complete(
                details=reply.model_dump(include={"hotlist_id", "accepted", "added", "refreshed", "removed"})
            )
        await self.follower.changed(hotlist_id, seq)
        return reply


def routes(desk: PartnerListDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """The exchange endpoints records answers for sharing, each with its handler."""
    return [(HOTLIST_SHAREABLE, desk.shareable), (HOTLIST_PARTNER_UPSERT, desk.partner_upsert)]
