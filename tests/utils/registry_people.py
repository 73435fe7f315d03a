"""People put straight into the registry for gateway tests, in any state, and their tokens."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

STATES = ("active", "untrained", "suspended", "locked")
# what an account in each state is told, whatever it asks for
STATE_REFUSALS = {"untrained": "training_expired", "suspended": "account_inactive", "locked": "account_locked"}


async def put_person(
    system: Any,
    sub: str,
    roles: list[str],
    *,
    state: str = "active",
    user_class: str = "sworn",
    last_active: datetime | None = None,
) -> str:
    """Insert or reset a person; `state` is one of STATES."""
    now = datetime.now(UTC)
    status = {"untrained": "active"}.get(state, state)
    training = now - timedelta(days=1) if state == "untrained" else now + timedelta(days=365)
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        await conn.execute(
            "INSERT INTO gateway.persons (sub, name, badge, agency, unit, roles, user_class, status, "
            "training_expires_at, last_active_at, approved_by) VALUES ($1,$2,$3,'CA0430000','BFO',$4,$5,$6,$7,$8,"
            "'test') ON CONFLICT (sub) DO UPDATE SET roles = $4, user_class = $5, status = $6, "
            "status_reason = NULL, training_expires_at = $7, last_active_at = $8, failures_cleared_at = NULL",
            sub,
            f"Test {sub}",
            str(abs(hash(sub)) % 100000),
            roles,
            user_class,
            status,
            training,
            last_active or now,
        )
    finally:
        await conn.close()
    return sub


def new_sub(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bearer(system: Any, sub: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {system.stack.issuer.mint(sub, **kwargs)}"}


async def fetch(system: Any, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def audit_rows(
    system: Any, where: str, *args: Any, expect: int = 1, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Audit records matching `where` (over access_records), waiting for refusals recorded asynchronously."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        rows = await fetch(system, f"SELECT * FROM audit.access_records WHERE {where} ORDER BY seq", *args)
        if len(rows) >= expect or asyncio.get_running_loop().time() > deadline:
            return [{**dict(r), "actor": json.loads(r["actor"]), "payload": json.loads(r["payload"])} for r in rows]
        await asyncio.sleep(0.05)
