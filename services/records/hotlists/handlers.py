"""The gateway's hotlist endpoints (`HOTLIST_*`) → lists, entries, imports; each change is committed, then announced.

A change commits only once its access record (built by the gateway, completed here) is persisted.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.audit_trail import ChangeRecorder
from libs.common.contracts.hotlists import (
    HOTLIST_ADD_ENTRY,
    HOTLIST_CREATE,
    HOTLIST_ENTRIES,
    HOTLIST_GET,
    HOTLIST_IMPORT,
    HOTLIST_IMPORT_PART,
    HOTLIST_LIST,
    HOTLIST_REMOVE_ENTRY,
    EntryLookup,
    EntryPage,
    EntryQuery,
    EntryRemoved,
    HotlistCreateRequest,
    HotlistEntry,
    HotlistImport,
    HotlistImportPart,
    HotlistListQuery,
    HotlistLookup,
    HotlistPage,
    HotlistSummary,
    ImportPartReceived,
    ImportResult,
    ManualEntryAdded,
    ManualEntryIn,
    RefusedLine,
)
from libs.common.db import UnitOfWork
from libs.common.endpoint import Endpoint
from libs.common.errors import Conflict, InvalidInput, NotFound
from services.records.hotlists import repository
from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.follower import HotlistFollower
from services.records.hotlists.importers import HotlistFormat, ImportBatch, import_hotlist
from services.records.hotlists.service import (
    clamped_lines,
    expiry_report,
    hotlist_record,
    import_record,
    manual_entry,
    plan_import,
    summary,
)


class HotlistDesk:
    """Lists, entries and imports for the gateway."""

    def __init__(self, uow: UnitOfWork, changes: ChangeRecorder, follower: HotlistFollower) -> None:
        self.uow = uow
        self.changes = changes
        self.follower = follower

    async def list_hotlists(self, _: HotlistListQuery) -> HotlistPage:
        now = datetime.now(UTC)
        async with self.uow() as session:
            rows = await repository.list_hotlists(session, now=now)
        return HotlistPage(hotlists=[summary(row, now) for row in rows])

    async def get_hotlist(self, request: HotlistLookup) -> HotlistSummary:
        now = datetime.now(UTC)
        async with self.uow() as session:
            row = await _hotlist(session, request.hotlist_id)
        return summary(row, now)

    async def create_hotlist(self, request: HotlistCreateRequest) -> HotlistSummary:
        if request.source == HotlistSource.PARTNER:
            raise InvalidInput("partner lists arrive through sharing", code="partner_list_not_creatable")
        async with self.changes(request.audit) as change:
            row = await repository.create_hotlist(
                change.session,
                name=request.name,
                source=request.source,
                description=request.description,
                shareable=request.shareable,
            )
            if row is None:
                raise Conflict("a list with this name exists", code="hotlist_name_taken")
            created = summary(row, datetime.now(UTC))
            change.complete(**hotlist_record(created.hotlist_id, {}))
        return created

    async def entries(self, request: EntryQuery) -> EntryPage:
        async with self.uow() as session:
            await _hotlist(session, request.hotlist_id)
            rows = await repository.entries_page(
                session,
                hotlist_id=request.hotlist_id,
                plate=request.plate.upper() if request.plate else None,
                include_expired=request.include_expired,
                now=datetime.now(UTC),
                after=request.after_entry_id,
                limit=request.limit + 1,
            )
        page = [HotlistEntry.model_validate(r) for r in rows[: request.limit]]
        more = len(rows) > request.limit
        return EntryPage(entries=page, next_after=page[-1].entry_id if more and page else None)

    async def add_entry(self, request: ManualEntryIn) -> ManualEntryAdded:
        now = datetime.now(UTC)
        entry = manual_entry(request, now)
        async with self.changes(request.audit) as change:
            session = change.session
            hotlist = await _hotlist(session, request.hotlist_id)
            if hotlist["source"] != HotlistSource.MANUAL:
                raise InvalidInput("entries are typed in only on manual lists", code="not_a_manual_list")
            await repository.lock_changes(session)
            [entry_id] = await repository.insert_entries(
                session, hotlist_id=request.hotlist_id, entries=[entry], entered_by=request.entered_by
            )
            seq = await repository.last_change(session)
            stored = await repository.get_entry(session, entry_id=entry_id)
            assert stored is not None  # inserted just above, in this transaction
            added = ManualEntryAdded.model_validate({**stored, **expiry_report(entry)})
            details = added.model_dump(mode="json", exclude={"hotlist_id"})
            change.complete(**hotlist_record(request.hotlist_id, details, plate=added.plate))
        await self.follower.changed(request.hotlist_id, seq)
        return added

    async def remove_entry(self, request: EntryLookup) -> EntryRemoved:
        async with self.changes(request.audit) as change:
            session = change.session
            await _hotlist(session, request.hotlist_id)
            await repository.lock_changes(session)
            removed = await repository.remove_entries(
                session, hotlist_id=request.hotlist_id, entry_ids=[request.entry_id], now=datetime.now(UTC)
            )
            if not removed:
                raise NotFound("no such entry on this list", code="entry_not_found")
            seq = await repository.last_change(session)
            gone = EntryRemoved(hotlist_id=request.hotlist_id, entry_id=request.entry_id, plate=removed[0]["plate"])
            change.complete(**hotlist_record(request.hotlist_id, {"entry_id": request.entry_id}, plate=gone.plate))
        await self.follower.changed(request.hotlist_id, seq)
        return gone

    async def import_part(self, request: HotlistImportPart) -> ImportPartReceived:
        """Hold a leading part of a large file until its import arrives."""
        content = decoded(request.content_b64)
        async with self.uow() as session:
            await _hotlist(session, request.hotlist_id)
            await repository.store_import_part(
                session, upload_id=request.upload_id, hotlist_id=request.hotlist_id, part=request.part, content=content
            )
        return ImportPartReceived(upload_id=request.upload_id, part=request.part, bytes=len(content))

    async def import_file(self, request: HotlistImport) -> ImportResult:
        """Parse, then apply the whole file in one transaction; an incomplete replacement changes nothing."""
        now = datetime.now(UTC)
        content = decoded(request.content_b64)
        try:
            tz = ZoneInfo(request.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput("unknown time zone", code="invalid_time_zone") from exc
        async with self.changes(request.audit) as change:
            session = change.session
            hotlist = await _hotlist(session, request.hotlist_id)
            if request.upload_id:
                parts = await repository.take_import_parts(
                    session, upload_id=request.upload_id, hotlist_id=request.hotlist_id
                )
                content = b"".join([*parts, content])
            source = HotlistSource(hotlist["source"])
            if source is HotlistSource.PARTNER:
                raise InvalidInput("partner lists arrive through sharing", code="partner_list_not_importable")
            batch = ImportBatch(source, now, tz=tz, wildcards=source is HotlistSource.MANUAL)
            fmt = HotlistFormat(request.format) if request.format else None
            report = import_hotlist(content, batch, fmt)
            result = ImportResult(
                hotlist_id=request.hotlist_id,
                format=report.format.value if report.format else None,
                mode=request.mode,
                accepted_lines=[line.line_no for line in report.accepted],
                refused=[
                    RefusedLine(line_no=r.line_no, code=r.code, message=r.message, text=r.text) for r in report.refused
                ],
                skipped_lines=report.skipped,
                expiries_clamped=clamped_lines(report),
            )
            await repository.lock_changes(session)
            held = await repository.held_entries(session, hotlist_id=request.hotlist_id)
            try:
                plan = plan_import(request.mode, held, report)
            except InvalidInput:
                result = result.model_copy(update={"applied": False})
                change.complete(**import_record(request.hotlist_id, result))
                return result
            seq = await repository.apply_plan(session, hotlist_id=request.hotlist_id, plan=plan, entered_by=None)
            if request.mode == "replace":
                await repository.mark_refreshed(session, hotlist_id=request.hotlist_id, at=now)
            result = result.model_copy(
                update={"added": len(plan.added), "refreshed": len(plan.refreshed), "removed": len(plan.removed)}
            )
            change.complete(**import_record(request.hotlist_id, result))
        await self.follower.changed(request.hotlist_id, seq)
        return result


def routes(desk: HotlistDesk) -> list[tuple[Endpoint[Any, Any], Any]]:
    """The hotlist endpoints records answers, each with its handler."""
    return [
        (HOTLIST_LIST, desk.list_hotlists),
        (HOTLIST_GET, desk.get_hotlist),
        (HOTLIST_CREATE, desk.create_hotlist),
        (HOTLIST_ENTRIES, desk.entries),
        (HOTLIST_ADD_ENTRY, desk.add_entry),
        (HOTLIST_REMOVE_ENTRY, desk.remove_entry),
        (HOTLIST_IMPORT_PART, desk.import_part),
        (HOTLIST_IMPORT, desk.import_file),
    ]


async def _hotlist(session: AsyncSession, hotlist_id: str) -> dict[str, Any]:
    row = await repository.get_hotlist(session, hotlist_id=hotlist_id, now=datetime.now(UTC))
    if row is None:
        raise NotFound("no such hotlist", code="hotlist_not_found")
    return row


def decoded(content_b64: str) -> bytes:
    try:
        return base64.b64decode(content_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("the file is not valid base64", code="invalid_file") from exc
