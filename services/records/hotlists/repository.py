"""All SQL of hotlists: lists, entries, the change sequence the replicas follow, shareable entries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.db import driver_connection, driver_fetch
from services.records.hotlists.delta import EntryKey
from services.records.hotlists.entries import HotlistEntryIn, HotlistSource
from services.records.hotlists.service import ImportPlan

# one writer of entries at a time, so change numbers commit in the order they were taken. Advisory keys
# are shared by every schema of the database: this one was the audit writer's too, so a change waiting
# for its access record held the lock the writer needed to store it (7215001 reads, 7215002 audit)
_CHANGE_LOCK = 7215003
ENTRY_FIELDS = (
    "source", "plate", "state", "ncic_record_type", "reason", "case_number", "nic", "ori", "vehicle_year",
    "make", "model", "style", "colour", "priority", "entered_at", "refreshed_at", "expires_at",
)  # fmt: skip
_TYPES = {"vehicle_year": "int4", "priority": "int4", "entered_at": "timestamptz"}
_TYPES |= {"refreshed_at": "timestamptz", "expires_at": "timestamptz"}
_ENTRY_COLUMNS = "entry_id, hotlist_id::text AS hotlist_id, " + ", ".join(ENTRY_FIELDS)
_LIST_FIELDS = "name source description shareable partner_ori agreement_id created_at refreshed_at".split()
_HOTLIST_COLUMNS = "hotlist_id::text AS hotlist_id, " + ", ".join(_LIST_FIELDS)


async def lock_changes(session: AsyncSession) -> None:
    """Serialize entry writes for the rest of the transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHANGE_LOCK})


async def create_hotlist(
    session: AsyncSession,
    *,
    name: str,
    source: str,
    description: str | None,
    shareable: bool,
    partner_ori: str | None = None,
    agreement_id: str | None = None,
) -> dict[str, Any] | None:
    """A new list, or None when the name is taken."""
    result = await session.execute(
        text(
            "INSERT INTO hotlists (hotlist_id, name, source, description, shareable, partner_ori, agreement_id) "
            "VALUES (CAST(:id AS uuid), :name, :source, :description, :shareable, :ori, :agreement) "
            f"ON CONFLICT DO NOTHING RETURNING {_HOTLIST_COLUMNS}"
        ),
        {
            "id": str(uuid.uuid4()),
            "name": name,
            "source": source,
            "description": description,
            "shareable": shareable,
            "ori": partner_ori,
            "agreement": agreement_id,
        },
    )
    row = result.first()
    return dict(row._mapping) if row else None


_LIST_SELECT = (
    f"SELECT h.hotlist_id::text AS hotlist_id, {', '.join('h.' + f for f in _LIST_FIELDS)}, "
    "(SELECT count(*) FROM hotlist_entries e WHERE e.hotlist_id = h.hotlist_id "
    "AND e.removed_at IS NULL AND e.expires_at > :now) AS active_entries FROM hotlists h"
)


async def list_hotlists(session: AsyncSession, *, now: datetime) -> list[dict[str, Any]]:
    """Every list with its count of active entries."""
    result = await session.execute(text(f"{_LIST_SELECT} ORDER BY h.name"), {"now": now})
    return [dict(r._mapping) for r in result]


async def get_hotlist(session: AsyncSession, *, hotlist_id: str, now: datetime) -> dict[str, Any] | None:
    """One list with its count of active entries."""
    try:
        uuid.UUID(hotlist_id)
    except ValueError:
        return None
    result = await session.execute(
        text(f"{_LIST_SELECT} WHERE h.hotlist_id = CAST(:id AS uuid)"), {"id": hotlist_id, "now": now}
    )
    row = result.first()
    return dict(row._mapping) if row else None


async def get_partner_hotlist(session: AsyncSession, *, partner_ori: str) -> dict[str, Any] | None:
    result = await session.execute(
        text(f"SELECT {_HOTLIST_COLUMNS} FROM hotlists WHERE partner_ori = :ori"), {"ori": partner_ori}
    )
    row = result.first()
    return dict(row._mapping) if row else None


async def partner_lists_with_entries(session: AsyncSession) -> list[dict[str, Any]]:
    """Every partner's list that still holds an entry not removed, with the agreement it was sent under."""
    result = await session.execute(
        text(
            f"SELECT {_HOTLIST_COLUMNS} FROM hotlists h WHERE partner_ori IS NOT NULL AND EXISTS "
            "(SELECT 1 FROM hotlist_entries e WHERE e.hotlist_id = h.hotlist_id AND e.removed_at IS NULL)"
        )
    )
    return [dict(r._mapping) for r in result]


async def mark_refreshed(
    session: AsyncSession, *, hotlist_id: str, at: datetime, agreement_id: str | None = None
) -> None:
    await session.execute(
        text(
            "UPDATE hotlists SET refreshed_at = :at, agreement_id = coalesce(:agreement, agreement_id) "
            "WHERE hotlist_id = CAST(:id AS uuid)"
        ),
        {"at": at, "id": hotlist_id, "agreement": agreement_id},
    )


async def held_entries(session: AsyncSession, *, hotlist_id: str) -> dict[EntryKey, int]:
    """The identity key of each entry the list holds, with its id."""
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "SELECT entry_id, source, plate, state, nic FROM hotlist_entries "
        "WHERE hotlist_id = $1::uuid AND removed_at IS NULL",
        hotlist_id,
    )
    return {(HotlistSource(r["source"]), r["plate"], r["state"], r["nic"]): r["entry_id"] for r in rows}


async def insert_entries(
    session: AsyncSession, *, hotlist_id: str, entries: Sequence[HotlistEntryIn], entered_by: str | None
) -> list[int]:
    """Store new entries in one statement; returns their ids in order."""
    if not entries:
        return []
    columns = [[_value(e, f) for e in entries] for f in ENTRY_FIELDS]
    casts = ", ".join(f"${i + 1}::{_TYPES.get(f, 'text')}[]" for i, f in enumerate(ENTRY_FIELDS))
    conn = await driver_connection(session)
    rows = await conn.fetch(
        f"INSERT INTO hotlist_entries (hotlist_id, entered_by, {', '.join(ENTRY_FIELDS)}) "
        f"SELECT ${len(ENTRY_FIELDS) + 1}::uuid, ${len(ENTRY_FIELDS) + 2}, u.* FROM unnest({casts}) "
        f"AS u({', '.join(ENTRY_FIELDS)}) RETURNING entry_id",
        *columns,
        hotlist_id,
        entered_by,
    )
    return [r["entry_id"] for r in rows]


async def refresh_entries(session: AsyncSession, *, refreshed: Sequence[tuple[int, HotlistEntryIn]]) -> None:
    """A list sent an entry again: its details, refresh and expiry are the new ones."""
    if not refreshed:
        return
    fields = [f for f in ENTRY_FIELDS if f not in ("source", "plate", "state", "nic", "entered_at")]
    columns = [[entry_id for entry_id, _ in refreshed]] + [[_value(e, f) for _, e in refreshed] for f in fields]
    casts = ", ".join(f"${i + 2}::{_TYPES.get(f, 'text')}[]" for i, f in enumerate(fields))
    conn = await driver_connection(session)
    await conn.execute(
        f"UPDATE hotlist_entries e SET {', '.join(f'{f} = u.{f}' for f in fields)}, "
        "change_seq = nextval('hotlist_change_seq') "
        f"FROM unnest($1::int8[], {casts}) AS u(entry_id, {', '.join(fields)}) WHERE e.entry_id = u.entry_id",
        *columns,
    )


async def remove_entries(
    session: AsyncSession, *, hotlist_id: str, entry_ids: Sequence[int], now: datetime
) -> list[dict[str, Any]]:
    """Mark entries removed (replicas see the change); returns the removed ids and plates."""
    if not entry_ids:
        return []
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "UPDATE hotlist_entries SET removed_at = $3, change_seq = nextval('hotlist_change_seq') "
        "WHERE hotlist_id = $1::uuid AND entry_id = ANY($2::int8[]) AND removed_at IS NULL "
        "RETURNING entry_id, plate",
        hotlist_id,
        list(entry_ids),
        now,
    )
    return [dict(r) for r in rows]


async def last_change(session: AsyncSession) -> int:
    """The newest change number taken (0 when none); call it under the change lock."""
    conn = await driver_connection(session)
    return int(await conn.fetchval("SELECT coalesce(max(change_seq), 0) FROM hotlist_entries"))


async def changes_after(session: AsyncSession, *, after_seq: int, limit: int) -> list[Any]:
    """Entry rows changed after a change number, oldest first; removed ones carry `removed_at`."""
    # the first statement of each ingest transaction: it begins the transaction itself (no SELECT 1 first)
    _, rows = await driver_fetch(
        session,
        "SELECT entry_id, source, plate, state, priority, expires_at, removed_at, change_seq "
        "FROM hotlist_entries WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
        after_seq,
        limit,
    )
    return rows


@dataclass(frozen=True, slots=True)
class ChangePosition:
    """Where the store's entry changes stand, as a replica's follower checks them after each catch-up."""

    newest: int  # the highest change number the entries hold (0 when none)
    forgotten: int  # the highest change number the purge has deleted (`forget_removed`)
    store: str | None  # the database cluster and its timeline; None where the role may not read them


async def change_position(session: AsyncSession) -> ChangePosition:
    """The store's change position, in one statement.

    `newest` never goes back but by a restore: a replica's index whose last applied change is above it
    follows another history (the database restored from a backup, or the sequence set back), and its changes
    past this number are numbered again. A replica whose last applied change is below `forgotten` never saw
    a removal that is now gone from the table. `store` changes when the numbers may not show it: a restore
    from a backup or an asynchronous failover both begin a new timeline, a dump restored elsewhere another
    system identifier (read from pg_control where the role may; a refusal would fail every catch-up). The
    timeline is the one WAL is written on now (the first part of the WAL file's name), not pg_control's,
    which changes only at the first checkpoint after a promotion; a standby has none to tell.
    """
    _, [row] = await driver_fetch(
        session,
        "SELECT coalesce((SELECT max(change_seq) FROM hotlist_entries), 0) AS newest, "
        "(SELECT through FROM hotlist_changes_forgotten) AS forgotten, "
        "CASE WHEN has_function_privilege('pg_control_system()', 'execute') AND NOT pg_is_in_recovery() "
        "THEN (SELECT system_identifier FROM pg_control_system())::text || '/' "
        "|| substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END AS store",
    )
    return ChangePosition(int(row["newest"]), int(row["forgotten"]), row["store"])


async def forget_removed(session: AsyncSession, *, before: datetime) -> int:
    """Drop rows removed long enough ago that every running replica has followed the removal.

    A replica that has not (it followed nothing for the hour) learns it by the highest change number deleted,
    kept in the same statement. The newest change is kept whatever it is: max(change_seq) going back is how a
    replica and ingest's check tell a restored database (`change_position`), so the purge must never lower it.
    """
    conn = await driver_connection(session)
    return int(
        await conn.fetchval(
            "WITH gone AS (DELETE FROM hotlist_entries WHERE removed_at < $1 "
            "AND change_seq < (SELECT max(change_seq) FROM hotlist_entries) RETURNING change_seq), "
            "marked AS (UPDATE hotlist_changes_forgotten SET through = greatest(through, "
            "(SELECT max(change_seq) FROM gone)) WHERE EXISTS (SELECT FROM gone)) "
            "SELECT count(*) FROM gone",
            before,
        )
    )


async def entries_page(
    session: AsyncSession,
    *,
    hotlist_id: str,
    plate: str | None,
    include_expired: bool,
    now: datetime,
    after: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Entries of a list in id order, optionally one plate, active only unless asked."""
    result = await session.execute(
        text(
            f"SELECT {_ENTRY_COLUMNS} FROM hotlist_entries WHERE hotlist_id = CAST(:id AS uuid) "
            "AND removed_at IS NULL AND (CAST(:plate AS text) IS NULL OR plate = :plate) "
            "AND (:all OR expires_at > :now) AND entry_id > :after ORDER BY entry_id LIMIT :limit"
        ),
        {"id": hotlist_id, "plate": plate, "all": include_expired, "now": now, "after": after or 0, "limit": limit},
    )
    return [dict(r._mapping) for r in result]


async def get_entry(session: AsyncSession, *, entry_id: int) -> dict[str, Any] | None:
    result = await session.execute(
        text(f"SELECT {_ENTRY_COLUMNS} FROM hotlist_entries WHERE entry_id = :id AND removed_at IS NULL"),
        {"id": entry_id},
    )
    row = result.first()
    return dict(row._mapping) if row else None


async def entries_with_lists(session: AsyncSession, *, entry_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Entries still held, with their list's name and last refresh, for the alerts they raise."""
    if not entry_ids:
        return {}
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "SELECT e.entry_id, e.hotlist_id::text AS hotlist_id, "
        + ", ".join(f"e.{f}" for f in ENTRY_FIELDS)
        + ", h.name AS hotlist_name, h.refreshed_at AS list_refreshed_at FROM hotlist_entries e "
        "JOIN hotlists h USING (hotlist_id) WHERE e.entry_id = ANY($1::int8[]) AND e.removed_at IS NULL",
        list(entry_ids),
    )
    return {r["entry_id"]: dict(r) for r in rows}


async def shareable_entries(session: AsyncSession, *, since: datetime | None, now: datetime) -> list[dict[str, Any]]:
    """Active entries of shareable lists; a partner's own entries are never passed on."""
    result = await session.execute(
        text(
            f"SELECT {', '.join('e.' + f for f in ENTRY_FIELDS)}, h.refreshed_at AS list_refreshed_at "
            "FROM hotlist_entries e JOIN hotlists h USING (hotlist_id) "
            "WHERE h.shareable AND h.source <> 'partner' AND e.removed_at IS NULL AND e.expires_at > :now "
            "AND (CAST(:since AS timestamptz) IS NULL OR e.refreshed_at >= :since) ORDER BY e.entry_id"
        ),
        {"since": since, "now": now},
    )
    return [dict(r._mapping) for r in result]


async def store_import_part(
    session: AsyncSession, *, upload_id: str, hotlist_id: str, part: int, content: bytes
) -> None:
    """Keep a leading part of a large file; a resent part replaces the earlier copy."""
    await session.execute(
        text(
            "INSERT INTO hotlist_import_parts (upload_id, part, hotlist_id, content) "
            "VALUES (:upload, :part, CAST(:id AS uuid), :content) "
            "ON CONFLICT (upload_id, part) DO UPDATE SET content = excluded.content, received_at = now()"
        ),
        {"upload": upload_id, "part": part, "id": hotlist_id, "content": content},
    )


async def take_import_parts(session: AsyncSession, *, upload_id: str, hotlist_id: str) -> list[bytes]:
    """The stored parts of an upload in order, removed in the same transaction as the import."""
    result = await session.execute(
        text(
            "DELETE FROM hotlist_import_parts WHERE upload_id = :upload AND hotlist_id = CAST(:id AS uuid) "
            "RETURNING part, content"
        ),
        {"upload": upload_id, "id": hotlist_id},
    )
    return [bytes(r.content) for r in sorted(result, key=lambda r: r.part)]


async def forget_import_parts(session: AsyncSession, *, before: datetime) -> None:
    """Parts of uploads that were never completed."""
    await session.execute(text("DELETE FROM hotlist_import_parts WHERE received_at < :before"), {"before": before})


def _value(entry: HotlistEntryIn, field: str) -> Any:
    value = getattr(entry, field)
    return value.value if isinstance(value, HotlistSource) else value


async def apply_plan(session: AsyncSession, *, hotlist_id: str, plan: ImportPlan, entered_by: str | None) -> int:
    """Add, refresh and remove a list's entries as planned; returns the change sequence it reached."""
    await insert_entries(session, hotlist_id=hotlist_id, entries=plan.added, entered_by=entered_by)
    await refresh_entries(session, refreshed=plan.refreshed)
    await remove_entries(session, hotlist_id=hotlist_id, entry_ids=plan.removed, now=datetime.now(UTC))
    return await last_change(session)
