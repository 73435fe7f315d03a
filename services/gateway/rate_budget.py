"""The shared side of the rate limits: a bucket per (kind, key) in gateway.rate_buckets, leased from atomically.

One upsert refills the row for the time elapsed, grants up to the lease asked for (whole tokens, never more than
the row holds) and stores what is left; concurrent replicas serialize on the row lock. The SQL lives here rather
than in repository.py because it is the limiter's own store, outside any unit of work's business transaction:
a lease commits on its own, so a request that later fails has still spent its token, as it would locally.
Keys are stored as digests: a public visitor's address or a person's subject is not kept in the clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import asyncpg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.db import autocommit_connection

# what a lease or prune raises when the store cannot answer: the limiter then falls back to limiting alone
STORE_ERRORS = (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
IDLE_PRUNE_S = 120  # every configured limit refills fully within 60 s; an older row equals a fresh one

# the row's tokens now: refilled for the time since its last lease, capped at capacity (or full on a reset).
# $1 kind, $2 key, $3 want, $4 capacity, $5 per_second, $6 reset
_REFILLED = (
    "CASE WHEN $6::boolean THEN $4::float8 ELSE LEAST($4::float8, b.tokens"
    " + $5::float8 * GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at))) END"
)
_GRANT = f"LEAST($3::float8, GREATEST(0, FLOOR({_REFILLED})))"
# one statement, atomic alone: run outside any transaction it commits as it returns (one round trip)
_LEASE = f"""
    INSERT INTO rate_buckets AS b (kind, key, tokens, granted, updated_at)
    VALUES ($1::varchar, $2::varchar, $4::float8 - LEAST($3::float8, FLOOR($4::float8)),
            LEAST($3::float8, FLOOR($4::float8)), clock_timestamp())
    ON CONFLICT (kind, key) DO UPDATE SET
        granted = {_GRANT},
        tokens = {_REFILLED} - {_GRANT},
        updated_at = GREATEST(b.updated_at, clock_timestamp())
    RETURNING granted, tokens
"""
_PRUNE = "DELETE FROM rate_buckets WHERE updated_at < clock_timestamp() - make_interval(secs => $1::float8)"


def row_key(key: str) -> str:
    """The stored form of a bucket's key: a digest, fixed in length whatever the caller's key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Lease:
    """Tokens granted to this replica, and what the shared bucket holds after the grant."""

    granted: int
    left: float


class SharedBudget:
    """Leases tokens from the shared buckets in the gateway's database (the engine's pool, in its schema)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def lease(
        self, kind: str, key: str, *, want: int, capacity: float, per_second: float, reset: bool = False
    ) -> Lease:
        """Take up to `want` whole tokens from the (kind, key) bucket; `reset` refills it first."""
        async with autocommit_connection(self._engine) as connection:
            row = await connection.fetchrow(
                _LEASE, kind, row_key(key), float(want), float(capacity), float(per_second), reset
            )
        assert row is not None  # INSERT … RETURNING always returns its row
        return Lease(granted=int(row["granted"]), left=float(row["tokens"]))

    async def prune(self) -> int:
        """Drop buckets idle long enough to have refilled; returns how many."""
        async with autocommit_connection(self._engine) as connection:
            status = await connection.execute(_PRUNE, float(IDLE_PRUNE_S))
        return int(status.rsplit(" ", 1)[-1])  # "DELETE n"
