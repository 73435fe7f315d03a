"""A partner's list matches only while an agreement in force grants that partner `hotlists:write`.

Sharing knows the agreements; records keeps each partner's list with the agreement it was sent under. On start,
every RECONCILE_INTERVAL_S and at once on sharing's revocation notice (core NATS: a hint, the pass is the
guarantee), records asks sharing which agreements grant `hotlists:write` now and withdraws every other partner
list: its entries removed from matching in one recorded change. When sharing does not answer, nothing changes:
an outage must not wipe the lists (they lapse 24 hours after their last refresh anyway, C5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg

from libs.common import metrics
from libs.common.audit_trail import ChangeRecorder
from libs.common.bus import Bus
from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.contracts.sharing import HOTLIST_WRITERS, REVOKED_SUBJECT, Empty, HotlistWriters
from libs.common.errors import AlprError
from libs.common.tasks import cancelled
from services.records.hotlists import repository
from services.records.hotlists.follower import HotlistFollower

log = logging.getLogger(__name__)

RECONCILE_INTERVAL_S = 60.0
WRITERS_TIMEOUT_S = 5.0
RECONCILE_ACTOR = Actor(kind="system", sub="records-partner-lists", name="Records partner-list reconcile")


def unallowed(lists: Iterable[dict[str, Any]], writers: HotlistWriters) -> list[dict[str, Any]]:
    """The partner lists held under no agreement in force that grants their partner `hotlists:write`."""
    allowed = {(w.agreement_id, w.partner_ori) for w in writers.writers}
    return [h for h in lists if (h["agreement_id"], h["partner_ori"]) not in allowed]


def withdrawal_record(hotlist: dict[str, Any], *, removed: int) -> AuditEvent:
    """The change's access record: the system withdrew this partner's list, and why."""
    return AuditEvent(
        event_type=EventType.HOTLIST_CHANGE,
        actor=RECONCILE_ACTOR,
        query={"hotlist_id": hotlist["hotlist_id"], "partner_ori": hotlist["partner_ori"]},
        result_count=1,
        result_ids=[hotlist["hotlist_id"]],
        details={
            "route": "partner_list_withdrawn",
            "reason": "agreement_not_in_force",
            "agreement_id": hotlist["agreement_id"],
            "removed": removed,
        },
    )


class PartnerListReconciler:
    """Withdraws every partner list that no agreement in force allows, on a timer and on revocation notices."""

    def __init__(
        self,
        changes: ChangeRecorder,
        bus: Bus,
        follower: HotlistFollower,
        *,
        interval_s: float = RECONCILE_INTERVAL_S,
    ) -> None:
        self.changes = changes
        self.uow = changes.uow
        self.bus = bus
        self.follower = follower
        self.interval_s = interval_s
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sub: Any = None

    async def start(self) -> None:
        """Subscribe to revocation notices, then run a first pass at once and every `interval_s` after."""
        self._sub = await self.bus.nc.subscribe(REVOKED_SUBJECT, cb=self._on_revoked)
        self._task = asyncio.create_task(self._periodic(), name="partner-list-reconcile")

    async def stop(self) -> None:
        await cancelled(self._task)
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def reconcile(self) -> int | None:
        """One pass: how many lists were withdrawn, or None when sharing did not answer (nothing changed)."""
        async with self._lock:
            try:
                writers = await self.bus.call(HOTLIST_WRITERS, Empty(), timeout=WRITERS_TIMEOUT_S)
            except AlprError as err:
                metrics.PARTNER_LIST_RECONCILES.labels("sharing_unavailable").inc()
                log.warning("sharing did not say which agreements are in force (%s): partner lists kept", err.code)
                return None
            async with self.uow() as session:
                held = await repository.partner_lists_with_entries(session)
            withdrawn = 0
            for hotlist in unallowed(held, writers):
                withdrawn += await self._withdraw(hotlist, writers)
            metrics.PARTNER_LIST_RECONCILES.labels("completed").inc()
            return withdrawn

    async def _withdraw(self, hotlist: dict[str, Any], writers: HotlistWriters) -> int:
        """Remove the list's entries in one recorded change; 0 when a new PUT changed its agreement meanwhile."""
        async with self.changes() as change:
            session = change.session
            await repository.lock_changes(session)
            now_held = await repository.get_partner_hotlist(session, partner_ori=hotlist["partner_ori"])
            # a PUT under another agreement since the list was read: the next pass judges that one
            if (
                now_held is None
                or now_held["agreement_id"] != hotlist["agreement_id"]
                or not unallowed([now_held], writers)
            ):
                return 0
            entry_ids = list((await repository.held_entries(session, hotlist_id=hotlist["hotlist_id"])).values())
            if not entry_ids:  # another replica withdrew it first (the notice reaches every replica at once)
                return 0
            removed = await repository.remove_entries(
                session, hotlist_id=hotlist["hotlist_id"], entry_ids=entry_ids, now=datetime.now(UTC)
            )
            seq = await repository.last_change(session)
            change.record(withdrawal_record(hotlist, removed=len(removed)))
        log.warning(
            "withdrew partner %s's list (%d entries): agreement %s does not grant hotlists:write in force",
            hotlist["partner_ori"],
            len(removed),
            hotlist["agreement_id"],
        )
        metrics.PARTNER_LISTS_WITHDRAWN.inc()
        await self.follower.changed(hotlist["hotlist_id"], seq)
        return 1

    async def _on_revoked(self, _: Msg) -> None:
        self._wake.set()

    async def _periodic(self) -> None:
        while True:
            self._wake.clear()  # a notice from now on asks for another pass after this one
            try:
                await self.reconcile()
            except Exception:
                metrics.PARTNER_LIST_RECONCILES.labels("failed").inc()
                log.exception("the partner-list reconcile failed; it runs again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
