"""SQL of the chain: the writer's lock and head, appending links, reading them back, checkpoints."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import cast

import asyncpg
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.db import driver_connection
from services.audit.ledger.chain import RECORD_DOCUMENT, ChainLink, FieldKind
from services.audit.ledger.checkpoints import Checkpoint
from services.audit.ledger.verify import RecordDocument, StoredRecord

_WRITER_LOCK = 7215002  # one chain writer at a time across replicas
VERIFY_LOCK = 7215005  # one periodic verification at a time across replicas (services/audit/verify_job.py)


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


async def try_verify_lock(session: AsyncSession) -> bool:
    """Take the periodic verification's lock for this transaction, or learn that another replica has it."""
    return bool((await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": VERIFY_LOCK})).scalar())


async def existing_event_ids(session: AsyncSession, *, event_ids: Sequence[str]) -> set[str]:
    rows = await session.execute(
        text("SELECT event_id FROM access_records WHERE event_id = ANY(:ids)"), {"ids": list(event_ids)}
    )
    return {r[0] for r in rows}


async def records_made_from(
    session: AsyncSession, *, event_ids: Sequence[str], after_seq: int = 0
) -> list[StoredRecord]:
    """The stored fields made from these events (those with seq > after_seq), for the stream witness."""
    rows = await session.execute(
        text(
            "SELECT seq, event_id, event_type, occurred_at, actor, payload FROM access_records "
            "WHERE event_id = ANY(:ids) AND seq > :after ORDER BY seq"
        ),
        {"ids": list(event_ids), "after": after_seq},
    )
    return [StoredRecord(*row) for row in rows]


async def first_record_not_named(
    session: AsyncSession, *, event_ids: Sequence[str], after_seq: int, upto_seq: int
) -> tuple[int, str] | None:
    """The first record of seq in (after_seq, upto_seq] whose event id is none of these: (seq, event id)."""
    row = (
        await session.execute(
            text(
                "SELECT seq, event_id FROM access_records WHERE seq > :a AND seq <= :b "
                "AND NOT (event_id = ANY(:ids)) ORDER BY seq LIMIT 1"
            ),
            {"ids": list(event_ids), "a": after_seq, "b": upto_seq},
        )
    ).first()
    return (int(row[0]), str(row[1])) if row else None


_LINK_COLUMNS = ("seq", "event_id", "event_type", "occurred_at", "actor", "payload", "prev_hash", "hash")


async def append_links(session: AsyncSession, links: Sequence[ChainLink]) -> None:
    """Insert new links; the caller has computed them after the locked head."""
    if not links:
        return
    # Binary COPY inside the unit of work's transaction: SQLAlchemy's parameter layer cost the writer
    # ~100 us a record, a fifth of its budget at 5,000 records a second.
    driver = await driver_connection(session)
    await driver.copy_records_to_table(
        "access_records",
        records=[tuple(getattr(link, column) for column in _LINK_COLUMNS) for link in links],
        columns=_LINK_COLUMNS,
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


# Each record's canonical document laid out by PostgreSQL from the same table the writer encodes with
# (ledger.chain.RECORD_DOCUMENT), as UTF-8 bytes: the verifier hashes what comes back and builds no object
# per record. to_json escapes text exactly as json.encoder.encode_basestring does, and to_char gives
# format_timestamp's microsecond UTC form; tests/services/audit/test_verification_rows.py checks the bytes.
# to_char's YYYY drops the era (2024 BC reads as 2024) and gives NULL for infinity, so a timestamp the
# writer cannot have stored (outside Python's years 1..9999) is laid out as its own text, which no
# written document holds; a NULL anywhere gives an empty document: both fail as hash_mismatch.
# Functions are pg_catalog's by name, so no function of the same name in the schema can stand in.
_SQL_OF_KIND = {
    FieldKind.JSON: "{column}",
    FieldKind.STRING: "pg_catalog.to_json({column})::text",
    FieldKind.INSTANT: (
        """'"' || CASE WHEN {column} >= '0001-01-01 00:00:00+00' AND {column} < '10000-01-01 00:00:00+00'"""
        """ THEN pg_catalog.to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        """ ELSE 'outside the writer''s range: ' || {column}::text END || '"'"""
    ),
    FieldKind.INTEGER: "{column}::text",
}


def _document_sql() -> str:
    """RECORD_DOCUMENT as one SQL text expression over access_records' columns."""
    parts = []
    for n, (name, kind) in enumerate(RECORD_DOCUMENT):
        key = ("{" if n == 0 else ",") + json.dumps(name) + ":"
        parts.append(f"'{key}' || " + _SQL_OF_KIND[kind].replace("{column}", name))
    return " || ".join(parts) + " || '}'"


_RECORDS_AFTER = (
    f"SELECT seq, event_id, prev_hash, hash, coalesce(pg_catalog.convert_to({_document_sql()}, 'UTF8'), ''::bytea) "
    "FROM access_records WHERE seq > $1 AND seq <= $2 ORDER BY seq"
)


async def iter_record_chunks(
    sessions: Sequence[AsyncSession], *, chunk: int = 20_000
) -> AsyncIterator[list[RecordDocument]]:
    """Every record as verification reads it, in seq order, a range of `chunk` seqs at a time.

    Each session reads every other range on its own connection, so PostgreSQL lays out one range while
    the next is on the wire: one backend alone holds verification under 100,000 records a second. The
    log is append-only, so the records up to the head read at the start are the same on every connection.
    """
    drivers = [await driver_connection(session) for session in sessions]
    statements = [await driver.prepare(_RECORDS_AFTER) for driver in drivers]
    head = int(await drivers[0].fetchval("SELECT coalesce(max(seq), 0) FROM access_records"))
    in_flight: deque[asyncio.Task[list[asyncpg.Record]]] = deque()
    start, turn = 0, 0
    try:
        while start < head or in_flight:
            # one range in flight per connection: a range's successor on the same connection is only
            # asked for once the range itself has come back
            while start < head and len(in_flight) < len(statements):
                statement = statements[turn % len(statements)]
                in_flight.append(asyncio.create_task(statement.fetch(start, min(start + chunk, head))))
                start, turn = start + chunk, turn + 1
            rows = await in_flight.popleft()
            if rows:
                # asyncpg's Records index like RecordDocument, the only way verify_records reads them
                yield cast(list[RecordDocument], rows)
    finally:
        for task in in_flight:
            task.cancel()


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
