"""All SQL of corrections: copy the newest version with the corrected fields, link both ways, copy images."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.records.models import Read
from services.records.repository.reads import VERSION_CHAIN

# what a correction sets; every other column is carried over from the version it replaces
_CORRECTED = {
    "read_id": "CAST(:new_id AS uuid)",
    "plate": ":plate",
    "lookalike_key": ":lkey",
    "state": "COALESCE(:state, state)",
    "hotlist_hit": ":hit",  # the misread's or the corrected plate's, for the whole chain (B5)
    "version": "version + 1",
    "supersedes": "read_id",
    "superseded_by": "NULL",
    "received_at": "now()",
    "flags": "array_append(array_remove(flags, 'corrected'), 'corrected')",
}


async def current_version(session: AsyncSession, *, read_id: str) -> Read | None:
    """The read, locked, if it is live in a partition (a held copy or a purged read cannot be corrected)."""
    row = (
        await session.execute(text("SELECT * FROM reads WHERE read_id = CAST(:id AS uuid) FOR UPDATE"), {"id": read_id})
    ).first()
    return Read.model_validate(dict(row._mapping)) if row else None


async def add_version(
    session: AsyncSession,
    *,
    read_id: str,
    new_id: str,
    plate: str,
    lookalike_key: str,
    state: str | None,
    hotlist_hit: bool,
) -> Read:
    """Insert the corrected version in the same partition and point the old one at it."""
    columns = [
        r[0]
        for r in await session.execute(
            text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'reads' ORDER BY ordinal_position"
            )
        )
    ]
    select = ", ".join(_CORRECTED.get(c, c) for c in columns)
    params = {
        "id": read_id,
        "new_id": new_id,
        "plate": plate,
        "lkey": lookalike_key,
        "state": state,
        "hit": hotlist_hit,
    }
    row = (
        await session.execute(
            text(
                f"INSERT INTO reads ({', '.join(columns)}) SELECT {select} FROM reads "
                "WHERE read_id = CAST(:id AS uuid) RETURNING *"
            ),
            params,
        )
    ).one()
    await session.execute(
        text("UPDATE reads SET superseded_by = CAST(:new_id AS uuid) WHERE read_id = CAST(:id AS uuid)"), params
    )
    if hotlist_hit:  # the earlier versions too: B5 must not cap a version the corrected one still points from
        await session.execute(
            text(
                f"{VERSION_CHAIN}UPDATE reads SET hotlist_hit = true WHERE captured_at = :captured "
                "AND read_id IN (SELECT id FROM chain) AND NOT hotlist_hit"
            ),
            {"id": read_id, "captured": row._mapping["captured_at"]},
        )
    await session.execute(
        text(
            "INSERT INTO read_images (read_id, captured_at, kind, content_type, data) "
            "SELECT CAST(:new_id AS uuid), captured_at, kind, content_type, data FROM read_images "
            "WHERE read_id = CAST(:id AS uuid)"
        ),
        params,
    )
    # a hold that names the read keeps its corrected version too
    await session.execute(
        text(
            "UPDATE legal_holds SET read_ids = array_append(read_ids, CAST(:new_id AS uuid)) "
            "WHERE status IN ('pending', 'active') AND CAST(:id AS uuid) = ANY(read_ids)"
        ),
        params,
    )
    return Read.model_validate(dict(row._mapping))
