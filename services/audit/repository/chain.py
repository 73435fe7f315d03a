"""SQL of the chain: the writer's lock and head, appending links, reading them back, checkpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from services.audit.ledger.chain import ChainLink
from services.audit.ledger.checkpoints import Checkpoint

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
    # one statement over arrays, not a row per round trip: the writer's rate depends on it
    await session.execute(
        text(
            "INSERT INTO access_records (seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash) "
            "SELECT * FROM unnest(CAST(:seq AS bigint[]), CAST(:event_id AS text[]), CAST(:event_type AS text[]), "
            "CAST(:occurred_at AS timestamptz[]), CAST(:actor AS text[]), CAST(:payload AS text[]), "
            "CAST(:prev_hash AS text[]), CAST(:hash AS text[]))"
        ),
        {
            "seq": [link.seq for link in links],
            "event_id": [link.event_id for link in links],
            "event_type": [link.event_type for link in links],
            "occurred_at": [link.occurred_at for link in links],
            "actor": [link.actor for link in links],
            "payload": [link.payload for link in links],
            "prev_hash": [link.prev_hash for link in links],
            "hash": [link.hash for link in links],
        },
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


_LINKS_AFTER = (
    "SELECT seq, event_id, event_type, occurred_at, actor, payload, prev_hash, hash "
    "FROM access_records WHERE seq > $1 ORDER BY seq LIMIT $2"
)


async def iter_link_chunks(session: AsyncSession, *, chunk: int = 10_000) -> AsyncIterator[list[ChainLink]]:
    """Every link in seq order, a chunk at a time, so a million records fit in constant memory."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    # asyncpg directly: verification reads every record, and SQLAlchemy's row layer would halve its speed
    driver = raw.driver_connection
    assert driver is not None
    statement = await driver.prepare(_LINKS_AFTER)
    last = 0
    while True:
        rows = await statement.fetch(last, chunk)
        if not rows:
            return
        yield [ChainLink(*row) for row in rows]
        last = rows[-1][0]


async def iter_links(session: AsyncSession, *, chunk: int = 10_000) -> AsyncIterator[ChainLink]:
    """Every link in seq order, streamed in chunks."""
    async for links in iter_link_chunks(session, chunk=chunk):
        for link in links:
            yield link


async def chain_hashes(session: AsyncSession, *, after_seq: int, upto_seq: int | None = None) -> list[bytes]:
    """Record hashes (raw) of seq in (after_seq, upto_seq], in order: the Merkle tree's leaves."""
    rows = await session.execute(
        text(
            "SELECT hash FROM access_records WHERE seq > :a AND (CAST(:b AS bigint) IS NULL OR seq <= :b) ORDER BY seq"
        ),
        {"a": after_seq, "b": upto_seq},
    )
    return [bytes.fromhex(r[0]) for r in rows]


async def insert_checkpoint(session: AsyncSession, checkpoint: Checkpoint) -> None:
    await session.execute(
        text(
            "INSERT INTO checkpoints (tree_size, root_hash, signed_at, key_id, signature) "
            "VALUES (:n, :root, :at, :kid, :sig) ON CONFLICT (tree_size) DO NOTHING"
        ),
        {
            "n": checkpoint.tree_size,
            "root": checkpoint.root_hash,
            "at": checkpoint.timestamp,
            "kid": checkpoint.key_id,
            "sig": checkpoint.signature,
        },
    )


async def list_checkpoints(session: AsyncSession, *, limit: int | None = None) -> list[Checkpoint]:
    """Signed checkpoints, oldest first (the latest `limit` when given)."""
    sql = "SELECT tree_size, root_hash, signed_at, key_id, signature FROM checkpoints ORDER BY tree_size DESC"
    rows = (await session.execute(text(sql + (" LIMIT :n" if limit else "")), {"n": limit})).all()
    return [Checkpoint(*row) for row in reversed(rows)]


async def find_checkpoint(session: AsyncSession, *, tree_size: int | None, covering: int = 0) -> Checkpoint | None:
    """The checkpoint of `tree_size`, or else the latest that covers record `covering`."""
    row = (
        await session.execute(
            text(
                "SELECT tree_size, root_hash, signed_at, key_id, signature FROM checkpoints "
                "WHERE (CAST(:n AS bigint) IS NULL OR tree_size = :n) AND tree_size >= :c "
                "ORDER BY tree_size DESC LIMIT 1"
            ),
            {"n": tree_size, "c": covering},
        )
    ).first()
    return Checkpoint(*row) if row else None
