"""The documents PostgreSQL lays out for verification are byte for byte the ones the writer hashed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import pytest_asyncio

from libs.common.db import UnitOfWork, create_engine
from services.audit import repository
from services.audit.ledger.chain import ChainLink, canonical_json, link_after
from services.audit.ledger.verify import record_documents
from services.audit.verification import verify_database

pytestmark = pytest.mark.asyncio(loop_scope="session")

COLUMNS = ("seq", "event_id", "event_type", "occurred_at", "actor", "payload", "prev_hash", "hash")

# What JSON escaping and timestamp formatting could disagree on between Python and PostgreSQL.
AWKWARD = [
    ("plain-id", "search", datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC), {"plate": "7ABC123"}),
    ("zero-micro", "read_view", datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), {"note": "no fraction"}),
    ('quote"back\\slash', "export", datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=UTC), {"q": 'say "hi" \\ bye'}),
    ("ctl\n\t\r\b\f\x01\x1f", "purge", datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), {"c": "\x02"}),
    ("ünïcødé-☃-𝄞", "hold_change", datetime(2026, 7, 4, 9, 30, tzinfo=timezone(timedelta(hours=-7))), {"u": "é☃"}),
    ("slash/and\u007fdel\u2028ls", "search", datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC), {"s": "</script>"}),
]


def chain() -> list[ChainLink]:
    links: list[ChainLink] = []
    previous = None
    for event_id, event_type, occurred_at, payload in AWKWARD:
        actor = canonical_json({"sub": 'oidc|ü"1', "name": "O'Brien \\ \u00e9", "badge": "B1"})
        previous = link_after(
            previous,
            event_id=event_id,
            event_type=event_type,
            occurred_at=occurred_at,
            actor=actor,
            payload=canonical_json(payload),
        )
        links.append(previous)
    return links


@pytest_asyncio.fixture(loop_scope="session")
async def scratch(system, admin_db) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """A scratch access log of the real table's shape holding the awkward chain."""
    schema = "rows_" + uuid.uuid4().hex[:8]
    await admin_db.execute(f"CREATE SCHEMA {schema}")
    await admin_db.execute(f"CREATE TABLE {schema}.access_records (LIKE audit.access_records INCLUDING ALL)")
    await admin_db.execute(f"CREATE TABLE {schema}.checkpoints (LIKE audit.checkpoints INCLUDING ALL)")
    await admin_db.copy_records_to_table(
        "access_records",
        schema_name=schema,
        columns=COLUMNS,
        records=[tuple(getattr(link, column) for column in COLUMNS) for link in chain()],
    )
    try:
        yield schema
    finally:
        await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


async def test_each_document_is_the_hashed_bytes(system, scratch) -> None:
    engine = create_engine(system.stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://"), schema=scratch)
    try:
        async with UnitOfWork(engine)() as session:
            rows = [row async for chunk in repository.iter_record_chunks([session], chunk=4) for row in chunk]
    finally:
        await engine.dispose()
    links = chain()
    assert [row[0] for row in rows] == [link.seq for link in links]
    # record_documents encodes each document in Python (ledger.chain.canonical_bytes), as the writer hashed it
    for row, expected in zip(rows, record_documents(links), strict=True):
        assert bytes(row[4]) == expected.document, expected.event_id
        assert (row[1], row[2], row[3]) == (expected.event_id, expected.prev_hash, expected.hash)


async def test_the_awkward_log_verifies_and_a_changed_timestamp_does_not(system, admin_db, scratch) -> None:
    report = await verify_database(system.stack.pg.admin_dsn, public_keys=[], schema=scratch)
    assert report["ok"], report
    assert report["records_checked"] == len(AWKWARD)
    await admin_db.execute(f"ALTER TABLE {scratch}.access_records DISABLE TRIGGER USER")
    await admin_db.execute(
        f"UPDATE {scratch}.access_records SET occurred_at = occurred_at + interval '1 microsecond' WHERE seq = 2"
    )
    report = await verify_database(system.stack.pg.admin_dsn, public_keys=[], schema=scratch)
    assert not report["ok"]
    assert (report["first_failure"]["seq"], report["first_failure"]["reason"]) == (2, "hash_mismatch")


@pytest.mark.parametrize(
    "tampered",
    [
        # to_char's YYYY drops the era: the same year BC must not lay out as the written document
        "occurred_at - interval '4051 years'",
        # to_char gives NULL for infinity: a failed record, not a crashed verification
        "'infinity'::timestamptz",
    ],
)
async def test_a_timestamp_outside_the_writers_range_fails_as_hash_mismatch(
    system, admin_db, scratch, tampered
) -> None:
    await admin_db.execute(f"ALTER TABLE {scratch}.access_records DISABLE TRIGGER USER")
    # seq 1 is 2026-03-01 12:00:00.123456 UTC; 4051 years earlier is 2026 BC, which to_char writes as 2026
    await admin_db.execute(f"UPDATE {scratch}.access_records SET occurred_at = {tampered} WHERE seq = 1")
    report = await verify_database(system.stack.pg.admin_dsn, public_keys=[], schema=scratch)
    assert not report["ok"]
    assert (report["first_failure"]["seq"], report["first_failure"]["reason"]) == (1, "hash_mismatch")
