"""Hold endpoints (`HOLD_*`) → hold rules and SQL; ending a hold releases its copies at once.

Each change commits only once its access record (built by the gateway, completed here) is persisted.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.audit_trail import ChangeRecorder
from libs.common.contracts.holds import (
    HOLD_CREATE,
    HOLD_DECIDE,
    HOLD_END,
    HOLD_GET,
    HOLD_LIST,
    HoldCreate,
    HoldDecision,
    HoldEnd,
    HoldList,
    HoldLookup,
    HoldView,
    HoldViews,
)
from libs.common.db import UnitOfWork
from libs.common.endpoint import Endpoint
from libs.common.errors import Conflict, InvalidInput, NotFound
from services.records.holds import repository
from services.records.holds.service import check_decision, check_end, check_new_hold, hold_record, hold_view
from services.records.retention.job import PurgeJob
from services.records.retention.repository import try_purge_lock


class HoldDesk:
    """One unit of work per request; the gateway has checked roles, and each change commits with its record."""

    def __init__(self, uow: UnitOfWork, changes: ChangeRecorder, purge: PurgeJob) -> None:
        self.uow = uow
        self.changes = changes
        self.purge = purge
        self._releases: set[asyncio.Task[object]] = set()

    async def create(self, request: HoldCreate) -> HoldView:
        """A requested hold waits for a supervisor; until then it keeps nothing."""
        now = datetime.now(UTC)
        plate = check_new_hold(request, now.date())
        hold_id = str(uuid.uuid4())
        async with self.changes(request.audit) as change:
            await repository.insert_hold(change.session, hold_id=hold_id, hold=request, plate=plate)
            view = await self._view(change.session, hold_id)
            change.complete(**hold_record(view))
        return view

    async def decide(self, request: HoldDecision) -> HoldView:
        async with self.changes(request.audit) as change:
            session = change.session
            # a purge copies the reads active holds keep, then drops their day: an approval landing between
            # the two would answer "active" for reads already gone, so it waits its turn instead
            if request.approve and not await try_purge_lock(session):
                raise Conflict("a purge is running; approve the hold again in a moment", code="purge_running")
            row = await self._locked(session, request.hold_id)
            check_decision(row, request.approver_sub)
            await repository.set_decision(
                session,
                hold_id=request.hold_id,
                status="active" if request.approve else "rejected",
                approver_sub=request.approver_sub,
                approver_name=request.approver_name,
                now=datetime.now(UTC),
            )
            if request.approve:
                await repository.attach_held_copies(session, hold_id=request.hold_id)
            view = await self._view(session, request.hold_id)
            record = hold_record(view)
            # a denial is kept with its reason, as an approval is
            change.complete(**{**record, "details": {**record["details"], "decision_reason": request.reason}})
        return view

    async def end(self, request: HoldEnd) -> HoldView:
        """End a hold; its copies (that no other hold keeps) go in a purge started right after."""
        async with self.changes(request.audit) as change:
            session = change.session
            row = await self._locked(session, request.hold_id)
            check_end(row)
            await repository.set_ended(
                session,
                hold_id=request.hold_id,
                reason=f"{request.reason} (by {request.ended_by})",
                now=datetime.now(UTC),
            )
            view = await self._view(session, request.hold_id)
            change.complete(**hold_record(view))
        task: asyncio.Task[object] = asyncio.create_task(self.purge.run(datetime.now(UTC)))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)
        return view

    async def get(self, request: HoldLookup) -> HoldView:
        async with self.uow() as session:
            row = await repository.get_hold(session, hold_id=_uuid(request.hold_id))
        if row is None:
            raise NotFound("no such hold", code="hold_not_found")
        return hold_view(row)

    async def list(self, request: HoldList) -> HoldViews:
        """A page of holds, newest first; `next_before` is set when older ones may follow."""
        before = _cursor(request.before) if request.before else None
        async with self.uow() as session:
            rows = await repository.list_holds(
                session, status=request.status, case_number=request.case_number, before=before, limit=request.limit + 1
            )
        shown = [hold_view(r) for r in rows[: request.limit]]
        return HoldViews(holds=shown, next_before=shown[-1].hold_id if len(rows) > request.limit else None)

    async def _view(self, session: AsyncSession, hold_id: str) -> HoldView:
        row = await repository.get_hold(session, hold_id=hold_id)
        assert row is not None
        return hold_view(row)

    async def _locked(self, session, hold_id: str):  # type: ignore[no-untyped-def]
        row = await repository.get_hold(session, hold_id=_uuid(hold_id), lock=True)
        if row is None:
            raise NotFound("no such hold", code="hold_not_found")
        return row


def routes(desk: HoldDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """The hold endpoints records answers, each with its handler."""
    return [
        (HOLD_CREATE, desk.create),
        (HOLD_DECIDE, desk.decide),
        (HOLD_END, desk.end),
        (HOLD_GET, desk.get),
        (HOLD_LIST, desk.list),
    ]


def _cursor(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidInput("before names no hold", code="invalid_cursor", field="before") from exc


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise NotFound("no such hold", code="hold_not_found") from exc
