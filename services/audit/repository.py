"""All SQL of the audit service: append links to the chain, read them back in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.audit.ledger.chain import ChainLink

_WRITER_LOCK = 7215002  # one chain writer at a time across replicas


async def lock_chain_head(session: AsyncSession) -> ChainLink | None:
    """Take the writer lock for this transaction and return the last link of the chain."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITER_LOCK})
    row = (
        await session.execute(
            text(
                "SELECT seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash "
                "FROM access_records ORDER BY seq DESC LIMIT 1"
            )
        )
    ).first()
    return ChainLink(*row) if row else None


async def existing_event_ids(session: AsyncSession, *, event_ids: Sequence[str]) -> set[str]:
    rows = await session.execute(
        text("SELECT event_id FROM access_records WHERE event_id = ANY(:ids)"), {"ids": list(event_ids)}
    )
    return {r[0] for r in rows}


async def append_links(session: AsyncSession, links: Sequence[ChainLink]) -> None:
    """Insert new links; the caller has computed them after the locked head."""
    if not links:
        return
    await session.execute(
        text(
            "INSERT INTO access_records (seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash) "
            "VALUES (:seq, :event_id, :event_type, :occurred_at, :actor, :payload, :prev_hash, :hash)"
        ),
        [
            {
                "seq": link.seq,
                "event_id": link.event_id,
                "event_type": link.event_type,
                "occurred_at": link.occurred_at,
                "actor": link.actor,
                "payload": link.payload,
                "prev_hash": link.prev_hash,
                "hash": link.hash,
            }
            for link in links
        ],
    )


async def find_link(session: AsyncSession, *, event_id: str) -> ChainLink | None:
    row = (
        await session.execute(
            text(
                "SELECT seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash "
                "FROM access_records WHERE event_id = :id"
            ),
            {"id": event_id},
        )
    ).first()
    return ChainLink(*row) if row else None


async def iter_links(session: AsyncSession, *, chunk: int = 5000) -> AsyncIterator[ChainLink]:
    """Every link in seq order, streamed in chunks so a million records fit in constant memory."""
    last = 0
    while True:
        rows = (
            await session.execute(
                text(
                    "SELECT seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash "
                    "FROM access_records WHERE seq > :last ORDER BY seq LIMIT :n"
                ),
                {"last": last, "n": chunk},
            )
        ).all()
        if not rows:
            return
        for row in rows:
            yield ChainLink(*row)
        last = rows[-1][0]


async def find_records(
    session: AsyncSession,
    *,
    actor_sub: str | None,
    plate: str | None,
    case_number: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Records matching an auditor's filters, oldest first."""
    sql = (
        "SELECT seq, event_id, event_type, occurred_at, recorded_at, actor, payload, prev_hash, hash "
        "FROM access_records WHERE (CAST(:sub AS text) IS NULL OR actor_sub = :sub) "
        "AND (CAST(:plate AS text) IS NULL OR plate = upper(:plate)) "
        "AND (CAST(:case AS text) IS NULL OR case_number = :case) "
        "AND (CAST(:etype AS text) IS NULL OR event_type = :etype) "
        "AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since) "
        "AND (CAST(:until AS timestamptz) IS NULL OR occurred_at < :until) ORDER BY seq LIMIT :limit"
    )
    rows = await session.execute(
        text(sql),
        {
            "sub": actor_sub,
            "plate": plate,
            "case": case_number,
            "etype": event_type,
            "since": since,
            "until": until,
            "limit": limit,
        },
    )
    return [dict(r._mapping) for r in rows]
