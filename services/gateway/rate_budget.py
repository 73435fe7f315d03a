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

from sqlalchemy import Boolean, Float, String, bindparam, text

from libs.common.db import UnitOfWork

IDLE_PRUNE_S = 120  # every configured limit refills fully within 60 s; an older row equals a fresh one

# the row's tokens now: refilled for the time since its last lease, capped at capacity (or full on a reset)
_REFILLED = (
    "CASE WHEN :reset THEN :capacity ELSE LEAST(:capacity, b.tokens"
    " + :per_second * GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at))) END"
)
_GRANT = f"LEAST(:want, GREATEST(0, FLOOR({_REFILLED})))"
_LEASE = text(
    f"""
    INSERT INTO rate_buckets AS b (kind, key, tokens, granted, updated_at)
    VALUES (:kind, :key, :capacity - LEAST(:want, FLOOR(:capacity)), LEAST(:want, FLOOR(:capacity)),
            clock_timestamp())
    ON CONFLICT (kind, key) DO UPDATE SET
        granted = {_GRANT},
        tokens = {_REFILLED} - {_GRANT},
        updated_at = GREATEST(b.updated_at, clock_timestamp())
    RETURNING granted, tokens
    """
).bindparams(
    bindparam("kind", type_=String),
    bindparam("key", type_=String),
    bindparam("want", type_=Float),
    bindparam("capacity", type_=Float),
    bindparam("per_second", type_=Float),
    bindparam("reset", type_=Boolean),
)
_PRUNE = text(
    "DELETE FROM rate_buckets WHERE updated_at < clock_timestamp() - make_interval(secs => :idle_s)"
).bindparams(bindparam("idle_s", type_=Float))


def row_key(key: str) -> str:
    """The stored form of a bucket's key: a digest, fixed in length whatever the caller's key."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Lease:
    """Tokens granted to this replica, and what the shared bucket holds after the grant."""

    granted: int
    left: float


class SharedBudget:
    """Leases tokens from the shared buckets in the gateway's database."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def lease(
        self, kind: str, key: str, *, want: int, capacity: float, per_second: float, reset: bool = False
    ) -> Lease:
        """Take up to `want` whole tokens from the (kind, key) bucket; `reset` refills it first."""
        params = {
            "kind": kind,
            "key": row_key(key),
            "want": float(want),
            "capacity": float(capacity),
            "per_second": float(per_second),
            "reset": reset,
        }
        async with self._uow() as session:
            row = (await session.execute(_LEASE, params)).one()
        return Lease(granted=int(row.granted), left=float(row.tokens))

    async def prune(self) -> int:
        """Drop buckets idle long enough to have refilled; returns how many."""
        async with self._uow() as session:
            result = await session.execute(_PRUNE, {"idle_s": float(IDLE_PRUNE_S)})
        return int(getattr(result, "rowcount", 0) or 0)
