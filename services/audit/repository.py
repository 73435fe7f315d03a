"""All SQL of the audit service: append links to the chain, read them back in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

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
    after_seq: int = 0,
) -> list[dict[str, Any]]:
    """Records matching an auditor's filters, oldest first, after `after_seq` (a page's cursor)."""
    sql = (
        "SELECT seq, event_id, event_type, occurred_at, recorded_at, actor, payload, prev_hash, hash "
        "FROM access_records WHERE (CAST(:sub AS text) IS NULL OR actor_sub = :sub) "
        "AND (CAST(:plate AS text) IS NULL OR plate = upper(:plate)) "
        "AND (CAST(:case AS text) IS NULL OR case_number = :case) "
        "AND (CAST(:etype AS text) IS NULL OR event_type = :etype) "
        "AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since) "
        "AND (CAST(:until AS timestamptz) IS NULL OR occurred_at < :until) AND seq > :after ORDER BY seq LIMIT :limit"
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
            "after": after_seq,
        },
    )
    return [dict(r._mapping) for r in rows]


async def flagged_attempts(session: AsyncSession, *, since: datetime | None, limit: int) -> list[dict[str, Any]]:
    """Refusals the gateway flagged for admins and auditors (A3), newest first."""
    rows = await session.execute(
        text(
            "SELECT event_id, occurred_at, actor, payload FROM access_records "
            "WHERE event_type = 'access_denied' "
            "AND (CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since) "
            "AND (payload::jsonb -> 'details' ->> 'flag_admins_and_auditors') = 'true' "
            "ORDER BY seq DESC LIMIT :limit"
        ),
        {"since": since, "limit": limit},
    )
    return [dict(r._mapping) for r in rows]


async def count_events(session: AsyncSession, *, since: datetime | None) -> tuple[dict[str, int], int]:
    """Totals by event type and the denied searches among them, for the public transparency page."""
    params = {"since": since}
    window = "(CAST(:since AS timestamptz) IS NULL OR occurred_at >= :since)"
    rows = await session.execute(
        text(f"SELECT event_type, count(*) FROM access_records WHERE {window} GROUP BY event_type"), params
    )
    denied = await session.execute(
        text(
            f"SELECT count(*) FROM access_records WHERE event_type = 'access_denied' AND {window} "
            "AND (payload::jsonb -> 'details' ->> 'route') = 'search'"
        ),
        params,
    )
    return {r[0]: int(r[1]) for r in rows}, int(denied.scalar_one())


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


async def search_summaries(session: AsyncSession, *, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The granted searches of a period, as the sample and the anomaly flags read them."""
    rows = await session.execute(
        text(
            "SELECT event_id, actor_sub, occurred_at, coalesce(plate, '') AS plate, "
            "coalesce((payload::jsonb) -> 'query' ->> 'match', 'exact') AS match FROM access_records "
            "WHERE event_type = 'search' AND occurred_at >= :s AND occurred_at < :u "
            "AND coalesce((payload::jsonb) ->> 'outcome', 'granted') = 'granted' ORDER BY seq"
        ),
        {"s": since, "u": until},
    )
    return [dict(r._mapping) for r in rows]


async def count_by_day(session: AsyncSession, *, day: date, event_types: Sequence[str]) -> dict[str, int]:
    """Granted records of one UTC day, by event type (A5)."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    rows = await session.execute(
        text(
            "SELECT event_type, count(*) FROM access_records WHERE event_type = ANY(:t) "
            "AND occurred_at >= :s AND occurred_at < :e "
            "AND coalesce((payload::jsonb) ->> 'outcome', 'granted') = 'granted' GROUP BY event_type"
        ),
        {"t": list(event_types), "s": start, "e": start + timedelta(days=1)},
    )
    return {r[0]: int(r[1]) for r in rows}


async def insert_sample(session: AsyncSession, *, sample: dict[str, Any], items: Sequence[dict[str, Any]]) -> None:
    """Record a drawn sample with its seed and parameters, then its searches in order."""
    await session.execute(
        text(
            "INSERT INTO audit_samples (sample_id, seed, period_start, period_end, size, stratum_size, "
            "population, drawn_by, drawn_at) VALUES (:sample_id, :seed, :period_start, :period_end, :size, "
            ":stratum_size, :population, :drawn_by, :drawn_at)"
        ),
        sample,
    )
    if items:
        await session.execute(
            text(
                "INSERT INTO audit_sample_items (sample_id, position, event_id, stratum) "
                "VALUES (:sample_id, :position, :event_id, :stratum)"
            ),
            list(items),
        )


async def get_sample(session: AsyncSession, *, sample_id: str) -> dict[str, Any] | None:
    row = (await session.execute(text("SELECT * FROM audit_samples WHERE sample_id = :id"), {"id": sample_id})).first()
    return dict(row._mapping) if row else None


async def sample_items(session: AsyncSession, *, sample_id: str) -> list[dict[str, Any]]:
    """A sample's searches in drawn order, with who searched what and when."""
    rows = await session.execute(
        text(
            "SELECT i.event_id, i.stratum, r.actor_sub, r.occurred_at, coalesce(r.plate, '') AS plate_query "
            "FROM audit_sample_items i JOIN access_records r ON r.event_id = i.event_id "
            "WHERE i.sample_id = :id ORDER BY i.position"
        ),
        {"id": sample_id},
    )
    return [dict(r._mapping) for r in rows]


async def insert_finding(session: AsyncSession, *, finding: dict[str, Any]) -> None:
    await session.execute(
        text(
            "INSERT INTO audit_findings (finding_id, sample_id, event_id, verdict, notes, auditor_sub, recorded_at) "
            "VALUES (:finding_id, :sample_id, :event_id, :verdict, :notes, :auditor_sub, :recorded_at)"
        ),
        finding,
    )


async def sample_findings(session: AsyncSession, *, sample_id: str) -> list[dict[str, Any]]:
    """Every finding of a sample, oldest first; a later one on the same search supersedes it."""
    rows = await session.execute(
        text("SELECT * FROM audit_findings WHERE sample_id = :id ORDER BY recorded_at, finding_id"),
        {"id": sample_id},
    )
    return [dict(r._mapping) for r in rows]


async def insert_completeness(
    session: AsyncSession, *, day: date, ok: bool, gateway: str, audit_log: str, differences: str
) -> None:
    await session.execute(
        text(
            "INSERT INTO completeness_checks (day, ok, gateway, audit_log, differences) VALUES (:day, :ok, :g, :a, :d)"
        ),
        {"day": day, "ok": ok, "g": gateway, "a": audit_log, "d": differences},
    )


async def completeness_checked(session: AsyncSession, *, day: date) -> bool:
    """Whether the daily check of `day` has run."""
    row = await session.execute(text("SELECT 1 FROM completeness_checks WHERE day = :d LIMIT 1"), {"d": day})
    return row.first() is not None


async def find_record(session: AsyncSession, *, event_id: str) -> dict[str, Any] | None:
    """One stored record with every column an auditor is shown."""
    row = (
        await session.execute(
            text(
                "SELECT seq, event_id, event_type, occurred_at, recorded_at, actor, payload, prev_hash, hash "
                "FROM access_records WHERE event_id = :id"
            ),
            {"id": event_id},
        )
    ).first()
    return dict(row._mapping) if row else None
