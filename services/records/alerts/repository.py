"""All SQL of alerts: storing hits once, publication marks, image views, verifications, reopenings, dispositions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.contracts.alerts import AlertMessage
from libs.common.db import driver_connection
from services.records.repository.reads import VERSION_CHAIN

_ALERT = "alert_id::text AS alert_id, body, status, disposition, disposed_at, disposed_by"


async def insert_alerts(session: AsyncSession, alerts: Sequence[AlertMessage]) -> set[str]:
    """Store alerts once each (read and listed plate); returns the ids that are new."""
    if not alerts:
        return set()
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "INSERT INTO alerts (alert_id, read_id, captured_at, raised_at, agency, camera_id, entry_id, hotlist_id, "
        "match_type, matched_text, state_mismatch, stale, body, listed_plate) "
        "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::text[], "
        "$6::text[], $7::int8[], $8::uuid[], $9::text[], $10::text[], $11::bool[], $12::bool[], $13::jsonb[], "
        "$14::text[]) "
        "ON CONFLICT DO NOTHING RETURNING alert_id::text",
        [a.alert_id for a in alerts],
        [a.read_id for a in alerts],
        [a.captured_at for a in alerts],
        [a.raised_at for a in alerts],
        [a.agency for a in alerts],
        [a.camera_id for a in alerts],
        [a.entry.entry_id for a in alerts],
        [a.entry.hotlist_id for a in alerts],
        [a.match_type for a in alerts],
        [a.matched_text for a in alerts],
        [a.state_mismatch for a in alerts],
        [a.stale for a in alerts],
        [a.model_dump_json() for a in alerts],
        [a.entry.plate for a in alerts],
    )
    return {r["alert_id"] for r in rows}


async def listed_plates_alerted(session: AsyncSession, *, read_id: str, captured_at: datetime) -> set[str]:
    """The listed plates any version of a read, from `read_id` back to the first, already raised an alert on."""
    rows = await session.execute(
        text(
            f"{VERSION_CHAIN}SELECT DISTINCT listed_plate FROM alerts WHERE captured_at = :captured "
            "AND read_id IN (SELECT id FROM chain)"
        ),
        {"id": read_id, "captured": captured_at},
    )
    return {r[0] for r in rows}


async def image_kinds(session: AsyncSession, *, read_id: str, captured_at: datetime) -> list[str]:
    """The kinds of a stored read's images (plate crop, overview, ...)."""
    rows = await session.execute(
        text("SELECT kind FROM read_images WHERE read_id = CAST(:id AS uuid) AND captured_at = :captured"),
        {"id": read_id, "captured": captured_at},
    )
    return [r[0] for r in rows]


async def alerted_previews(session: AsyncSession, *, preview_ids: Sequence[str]) -> dict[str, set[str]]:
    """The listed plates each of these (preview) reads raised an alert on."""
    if not preview_ids:
        return {}
    rows = await session.execute(
        text("SELECT read_id::text, listed_plate FROM alerts WHERE read_id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": list(preview_ids)},
    )
    found: dict[str, set[str]] = {}
    for read_id, plate in rows:
        found.setdefault(read_id, set()).add(plate)
    return found


async def hand_over_alerts(session: AsyncSession, *, handovers: Sequence[tuple[str, str, datetime, str]]) -> None:
    """Point the alerts of replaced previews at the final that replaced them: (preview, final, final's time,
    listed plate), each alert the preview raised on that plate.

    The alert keeps its id (officers may already hold it, its image views and verification name it); its
    read, and so the image it serves, become the final's, which stays when the preview is dropped. Where two
    previews of one final alerted on the same listed plate, the first raised is handed over; the other stays
    with its preview, which is then kept (`drop_superseded_previews` drops no read an alert points at)."""
    if not handovers:
        return
    await session.execute(
        text(
            "WITH h AS (SELECT * FROM unnest(CAST(:previews AS uuid[]), CAST(:finals AS uuid[]), "
            "CAST(:at AS timestamptz[]), CAST(:plates AS text[])) AS h(preview, final, at, plate)), "
            "chosen AS (SELECT DISTINCT ON (h.final, a.listed_plate) a.alert_id, h.final, h.at FROM alerts a "
            "JOIN h ON a.read_id = h.preview AND a.listed_plate = h.plate "
            "ORDER BY h.final, a.listed_plate, a.raised_at, a.alert_id) "
            "UPDATE alerts a SET read_id = c.final, captured_at = c.at, body = a.body || jsonb_build_object("
            "'read_id', c.final::text, 'captured_at', to_jsonb(c.at)) FROM chosen c WHERE a.alert_id = c.alert_id"
        ),
        {
            "previews": [p for p, _, _, _ in handovers],
            "finals": [f for _, f, _, _ in handovers],
            "at": [at for _, _, at, _ in handovers],
            "plates": [plate for _, _, _, plate in handovers],
        },
    )


async def unpublished_between(
    session: AsyncSession, *, since: datetime, before: datetime, after: tuple[datetime, str] | None, limit: int
) -> list[tuple[datetime, str, dict[str, Any]]]:
    """(raised_at, alert id, body) of alerts raised in [since, before) and still unpublished, oldest first, after
    the `after` key (a page of the sweep's; alerts_unpublished)."""
    conn = await driver_connection(session)
    start, start_id = after or (since, "00000000-0000-0000-0000-000000000000")
    rows = await conn.fetch(
        "SELECT raised_at, alert_id::text AS alert_id, body FROM alerts WHERE published_at IS NULL "
        "AND raised_at >= $1 AND raised_at < $2 AND (raised_at, alert_id) > ($3, $4::uuid) "
        "ORDER BY raised_at, alert_id LIMIT $5",
        since,
        before,
        start,
        start_id,
        limit,
    )
    return [(r["raised_at"], r["alert_id"], body_of(dict(r))) for r in rows]


async def unpublished_for_reads(session: AsyncSession, *, read_ids: Sequence[str]) -> list[AlertMessage]:
    """Alerts of redelivered reads whose publication did not complete."""
    if not read_ids:
        return []
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "SELECT body FROM alerts WHERE read_id = ANY($1::uuid[]) AND published_at IS NULL", list(read_ids)
    )
    # the engine's connections decode jsonb, so a body is a dict here (text only on a bare connection)
    return [AlertMessage.model_validate(body_of(dict(r))) for r in rows]


async def mark_published(session: AsyncSession, *, alert_ids: Sequence[str], at: datetime) -> None:
    if not alert_ids:
        return
    conn = await driver_connection(session)
    await conn.execute("UPDATE alerts SET published_at = $2 WHERE alert_id = ANY($1::uuid[])", list(alert_ids), at)


async def list_alerts(
    session: AsyncSession, *, status: str | None, since: datetime | None, limit: int, captured_from: datetime
) -> list[dict[str, Any]]:
    """Newest first; only alerts on reads captured from `captured_from` (the retention period's start)."""
    result = await session.execute(
        text(
            f"SELECT {_ALERT} FROM alerts WHERE (CAST(:status AS text) IS NULL OR status = :status) "
            "AND (CAST(:since AS timestamptz) IS NULL OR raised_at >= :since) AND captured_at >= :captured_from "
            "ORDER BY raised_at DESC, alert_id LIMIT :limit"
        ),
        {"status": status, "since": since, "limit": limit, "captured_from": captured_from},
    )
    return [dict(r._mapping) for r in result]


async def get_alert(
    session: AsyncSession, *, alert_id: str, captured_from: datetime, lock: bool = False
) -> dict[str, Any] | None:
    """The alert, if its read was captured from `captured_from` (the retention period's start)."""
    try:
        uuid.UUID(alert_id)
    except ValueError:
        return None
    result = await session.execute(
        text(
            f"SELECT {_ALERT} FROM alerts WHERE alert_id = CAST(:id AS uuid) AND captured_at >= :captured_from"
            + (" FOR UPDATE" if lock else "")
        ),
        {"id": alert_id, "captured_from": captured_from},
    )
    row = result.first()
    return dict(row._mapping) if row else None


async def verifications_of(session: AsyncSession, *, alert_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each alert's verifications, oldest first."""
    if not alert_ids:
        return {}
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "SELECT verification_id::text AS verification_id, alert_id::text AS alert_id, officer_sub, verified_at, "
        "plate_seen, state_seen, vehicle_matches, other_source_checked, character_mismatches, state_agrees, "
        "outcome, reasons, image_view_id::text AS image_view_id, notes "
        "FROM alert_verifications WHERE alert_id = ANY($1::uuid[]) ORDER BY verified_at",
        list(alert_ids),
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r["alert_id"], []).append(dict(r))
    return found


async def add_verification(
    session: AsyncSession, *, alert_id: str, officer_sub: str, at: datetime, fields: dict[str, Any]
) -> str:
    """Store an officer's check and set the alert's status to its outcome."""
    verification_id = str(uuid.uuid4())
    await session.execute(
        text(
            "INSERT INTO alert_verifications (verification_id, alert_id, officer_sub, verified_at, plate_seen, "
            "state_seen, vehicle_matches, other_source_checked, character_mismatches, state_agrees, outcome, reasons, "
            "image_view_id, notes) "
            "VALUES (CAST(:vid AS uuid), CAST(:aid AS uuid), :sub, :at, :plate_seen, :state_seen, :vehicle_matches, "
            ":other_source_checked, :character_mismatches, :state_agrees, :outcome, :reasons, "
            "CAST(:image_view_id AS uuid), :notes)"
        ),
        {"vid": verification_id, "aid": alert_id, "sub": officer_sub, "at": at, **fields},
    )
    await session.execute(
        text("UPDATE alerts SET status = :outcome WHERE alert_id = CAST(:aid AS uuid)"),
        {"outcome": fields["outcome"], "aid": alert_id},
    )
    return verification_id


async def entry_standing(session: AsyncSession, *, hotlist_id: str, entry_id: int) -> dict[str, Any] | None:
    """An alert's entry and its list as they are now (removed ones too); None once the entry is forgotten."""
    result = await session.execute(
        text(
            "SELECT h.source, h.refreshed_at AS list_refreshed_at, e.removed_at, e.expires_at "
            "FROM hotlist_entries e JOIN hotlists h USING (hotlist_id) "
            "WHERE e.entry_id = :entry AND e.hotlist_id = CAST(:list AS uuid)"
        ),
        {"entry": entry_id, "list": hotlist_id},
    )
    row = result.first()
    return dict(row._mapping) if row else None


async def add_image_view(
    session: AsyncSession, *, alert_id: str, officer_sub: str, event_ids: Sequence[str], at: datetime, kind: str
) -> str:
    """Keep an officer's recorded look at an alert's image; its id is its first record's (idempotent)."""
    await session.execute(
        text(
            "INSERT INTO alert_image_views (view_id, alert_id, officer_sub, viewed_at, image_kind, event_ids) "
            "VALUES (CAST(:vid AS uuid), CAST(:aid AS uuid), :sub, :at, :kind, CAST(:events AS uuid[])) "
            "ON CONFLICT (view_id) DO NOTHING"
        ),
        {"vid": event_ids[0], "aid": alert_id, "sub": officer_sub, "at": at, "kind": kind, "events": list(event_ids)},
    )
    return event_ids[0]


async def latest_image_view(
    session: AsyncSession, *, alert_id: str, officer_sub: str, since: datetime | None
) -> str | None:
    """The officer's latest look at the alert's image since `since` (the last reopening), if any."""
    result = await session.execute(
        text(
            "SELECT view_id::text FROM alert_image_views WHERE alert_id = CAST(:aid AS uuid) AND officer_sub = :sub "
            "AND (CAST(:since AS timestamptz) IS NULL OR viewed_at >= :since) ORDER BY viewed_at DESC LIMIT 1"
        ),
        {"aid": alert_id, "sub": officer_sub, "since": since},
    )
    return result.scalar_one_or_none()


async def read_has_image(session: AsyncSession, *, read_id: str) -> bool:
    """Whether records holds an image of the read (its own partition's, or a held copy's)."""
    result = await session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM read_images WHERE read_id = CAST(:id AS uuid)) "
            "OR EXISTS (SELECT 1 FROM held_read_images WHERE read_id = CAST(:id AS uuid))"
        ),
        {"id": read_id},
    )
    return bool(result.scalar_one())


async def add_reopening(session: AsyncSession, *, alert_id: str, supervisor_sub: str, at: datetime, reason: str) -> str:
    """Keep a supervisor's reopening and send the alert back to pending."""
    reopening_id = str(uuid.uuid4())
    await session.execute(
        text(
            "INSERT INTO alert_reopenings (reopening_id, alert_id, supervisor_sub, reopened_at, reason) "
            "VALUES (CAST(:rid AS uuid), CAST(:aid AS uuid), :sub, :at, :reason)"
        ),
        {"rid": reopening_id, "aid": alert_id, "sub": supervisor_sub, "at": at, "reason": reason},
    )
    await session.execute(
        text("UPDATE alerts SET status = 'pending' WHERE alert_id = CAST(:aid AS uuid)"), {"aid": alert_id}
    )
    return reopening_id


async def reopenings_of(session: AsyncSession, *, alert_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each alert's reopenings, oldest first."""
    if not alert_ids:
        return {}
    conn = await driver_connection(session)
    rows = await conn.fetch(
        "SELECT reopening_id::text AS reopening_id, alert_id::text AS alert_id, supervisor_sub, reopened_at, reason "
        "FROM alert_reopenings WHERE alert_id = ANY($1::uuid[]) ORDER BY reopened_at",
        list(alert_ids),
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        found.setdefault(r["alert_id"], []).append(dict(r))
    return found


async def dispose(session: AsyncSession, *, alert_id: str, code: str, officer_sub: str, at: datetime) -> None:
    await session.execute(
        text(
            "UPDATE alerts SET status = 'closed', disposition = :code, disposed_at = :at, disposed_by = :sub "
            "WHERE alert_id = CAST(:aid AS uuid)"
        ),
        {"code": code, "at": at, "sub": officer_sub, "aid": alert_id},
    )


async def figures(session: AsyncSession, *, since: datetime | None) -> list[dict[str, Any]]:
    """Alert counts by match type, disposition and status."""
    result = await session.execute(
        text(
            "SELECT match_type, coalesce(disposition, '') AS disposition, status, count(*) AS n FROM alerts "
            "WHERE CAST(:since AS timestamptz) IS NULL OR raised_at >= :since "
            "GROUP BY match_type, disposition, status"
        ),
        {"since": since},
    )
    return [dict(r._mapping) for r in result]


def body_of(row: dict[str, Any]) -> dict[str, Any]:
    """The stored alert body (asyncpg hands jsonb over as text)."""
    body = row["body"]
    return json.loads(body) if isinstance(body, str) else dict(body)


# the purge's (B1): an alert repeats its read (plate, time, position, camera, candidates in `body`), its
# verifications the plate the officer saw; they go with the read, unless a hold keeps the read's copy
_PURGE_ALERTS = (
    "WITH gone AS (SELECT alert_id FROM alerts a WHERE a.captured_at < :before AND NOT EXISTS ("
    "SELECT 1 FROM held_reads h WHERE h.read_id = a.read_id)), "
    "verifications AS (DELETE FROM alert_verifications v USING gone WHERE v.alert_id = gone.alert_id RETURNING 1), "
    "views AS (DELETE FROM alert_image_views w USING gone WHERE w.alert_id = gone.alert_id RETURNING 1), "
    "reopenings AS (DELETE FROM alert_reopenings r USING gone WHERE r.alert_id = gone.alert_id RETURNING 1), "
    "alerts_gone AS (DELETE FROM alerts a USING gone WHERE a.alert_id = gone.alert_id RETURNING 1) "
    "SELECT (SELECT count(*) FROM alerts_gone), (SELECT count(*) FROM verifications), "
    "(SELECT count(*) FROM views), (SELECT count(*) FROM reopenings)"
)


async def purge_alerts(session: AsyncSession, *, before: datetime) -> dict[str, int]:
    """Delete the alerts of reads captured before the purge cutoff, with their verifications, image views and
    reopenings, except those whose read a hold keeps (a held copy); the counts deleted, by table.

    Run in the purge's transaction after the held copies are made: a read held now has its copy by then.
    """
    row = (await session.execute(text(_PURGE_ALERTS), {"before": before})).one()
    return {
        "alerts": int(row[0]),
        "alert_verifications": int(row[1]),
        "alert_image_views": int(row[2]),
        "alert_reopenings": int(row[3]),
    }
