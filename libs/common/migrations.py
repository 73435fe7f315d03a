"""Idempotent schema migrations (plain SQL files per service) and JetStream declarations."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import APIError, NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.common.streams import AUDIT, CONSUMERS, DAY_S, STREAMS, capped

log = logging.getLogger(__name__)
_LOCK_KEY = 0x41_4C_50_52  # "ALPR": one migrator at a time across replicas


@dataclass(frozen=True)
class SchemaMigrations:
    schema: str
    role: str
    folder: Path


async def apply_schemas(admin_dsn: str, schemas: list[SchemaMigrations]) -> list[str]:
    """Apply every file not yet applied, each in its own transaction; returns what was applied."""
    applied: list[str] = []
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        for item in schemas:
            await _ensure_role(conn, item.role)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{item.schema}"')
            await conn.execute(f'GRANT USAGE ON SCHEMA "{item.schema}" TO "{item.role}"')
            await conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{item.schema}".schema_migrations '
                "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            # the service's readiness compares what its code expects with what is applied
            await conn.execute(f'GRANT SELECT ON "{item.schema}".schema_migrations TO "{item.role}"')
            done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{item.schema}".schema_migrations')}
            for path in sorted(item.folder.glob("*.sql")):
                if path.name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(f'SET LOCAL search_path TO "{item.schema}", public')
                    await conn.execute(path.read_text())
                    await conn.execute(f'INSERT INTO "{item.schema}".schema_migrations(version) VALUES ($1)', path.name)
                applied.append(f"{item.schema}/{path.name}")
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        finally:
            await conn.close()
    return applied


@dataclass
class SchemaState:
    """The migrations a service's code expects (its package's files) against those applied in its schema."""

    schema: str
    required: frozenset[str]
    missing: frozenset[str] = field(default_factory=frozenset)
    _current: bool = False

    @classmethod
    def for_service(cls, service: str) -> SchemaState:
        """The service's schema and migration files; a service without a folder (the recognizer) needs none."""
        try:
            folder = Path(str(resources.files(f"services.{service}") / "migrations"))
        except ModuleNotFoundError:
            folder = Path("/nonexistent")
        required = frozenset(p.name for p in folder.glob("*.sql")) if folder.is_dir() else frozenset()
        return cls(schema=service, required=required, missing=required)

    async def is_current(self, conn: AsyncConnection) -> bool:
        """Whether every required migration is applied; once it is, it stays so for this process."""
        if self._current or not self.required:
            return True
        rows = await conn.execute(text(f'SELECT version FROM "{self.schema}".schema_migrations'))
        self.missing = self.required - {row[0] for row in rows}
        self._current = not self.missing
        return self._current


async def missing_migrations(dsn: str, schemas: list[SchemaMigrations]) -> list[str]:
    """`schema/file` of each migration not yet applied (all of a schema not yet made); read-only."""
    missing: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        for item in schemas:
            table = await conn.fetchval("SELECT to_regclass($1)", f'"{item.schema}".schema_migrations')
            done = (
                {r["version"] for r in await conn.fetch(f'SELECT version FROM "{item.schema}".schema_migrations')}
                if table
                else set()
            )
            missing += [f"{item.schema}/{p.name}" for p in sorted(item.folder.glob("*.sql")) if p.name not in done]
    finally:
        await conn.close()
    return missing


async def _ensure_role(conn: asyncpg.Connection, role: str) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        # passwords are the deployment's business (CloudNativePG managed roles); locally auth is trust
        await conn.execute(f'CREATE ROLE "{role}" LOGIN')


async def apply_streams(js: JetStreamContext, *, replicas: int = 1, file_store_bytes: int | None = None) -> list[str]:
    """Create or update every stream and durable consumer declared in `libs.common.streams`.

    `replicas` is the deployment's choice (3 on the three-server cluster), not the code's, and so is
    `file_store_bytes`, the servers' `max_file_store`, of which each stream but AUDIT gets a capped share.
    AUDIT is created when missing and never updated: an update could shrink the audit trail, so NATS refuses
    it to `migrate` (nats.conf); `audit_stream_differences` says how the one in NATS differs.
    """
    done: list[str] = []
    for config in (dataclasses.replace(capped(c, file_store_bytes), num_replicas=replicas) for c in STREAMS):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
            done.append(f"stream {config.name}")
            continue
        if config.name != AUDIT.name:
            await js.update_stream(config)
            done.append(f"stream {config.name}")
    for consumer in CONSUMERS:
        try:
            await js.add_consumer(consumer.stream, consumer.config)
        except APIError as exc:
            # An incompatible change (ack policy, deliver policy ...) to an existing durable. Deleting
            # and recreating it would re-read the whole stream and, for AUDIT, reset what the verifier's
            # stream witness relies on: that is an operator's decision (docs/operations.md), never a
            # migration's side effect.
            raise RuntimeError(
                f"consumer {consumer.stream}/{consumer.config.durable_name} differs from its declaration in a "
                f"way JetStream cannot update ({exc.description or exc}); see docs/operations.md, "
                "'Changing a durable consumer'"
            ) from exc
        done.append(f"consumer {consumer.stream}/{consumer.config.durable_name}")
    return done


@dataclass(frozen=True)
class StreamDifference:
    """One setting in which a stream in NATS differs from its declaration.

    `less_safe`: with it, NATS keeps fewer audit records, for less time, on fewer servers or not on disk, drops
    them (discard old, rollups, interest retention) or stops taking them (a missing subject, a seal).
    """

    setting: str
    in_nats: str
    declared: str
    less_safe: bool

    def __str__(self) -> str:
        verdict = "LESS SAFE" if self.less_safe else "at least as safe"
        return f"{self.setting}: {self.in_nats} in NATS, {self.declared} declared ({verdict})"


async def audit_stream_differences(js: JetStreamContext, *, replicas: int) -> list[StreamDifference]:
    """How the AUDIT stream in NATS differs from its declaration at `replicas`; empty when it matches."""
    info = await js.stream_info(AUDIT.name or "")
    return audit_differences(info.config, dataclasses.replace(AUDIT, num_replicas=replicas))


def audit_differences(actual: StreamConfig, declared: StreamConfig) -> list[StreamDifference]:
    """Every setting of `declared` that `actual` does not have, each judged against losing audit records."""
    found: list[StreamDifference] = []

    def note(setting: str, have: object, want: object, *, less_safe: bool) -> None:
        if have != want:
            found.append(StreamDifference(setting, _shown(setting, have), _shown(setting, want), less_safe))

    have_subjects, want_subjects = sorted(actual.subjects or []), sorted(declared.subjects or [])
    # an event on a declared subject the stream no longer captures is refused: it never enters the trail
    note("subjects", have_subjects, want_subjects, less_safe=not set(want_subjects) <= set(have_subjects))
    for setting in ("retention", "storage", "discard"):
        have, want = _policy(getattr(actual, setting)), _policy(getattr(declared, setting))
        note(setting, have, want, less_safe=True)  # interest, memory, discard old: each loses records
    for setting in ("max_age", "max_msgs", "max_bytes", "max_msgs_per_subject", "max_msg_size"):
        have_limit, want_limit = _limit(getattr(actual, setting)), _limit(getattr(declared, setting))
        note(setting, have_limit, want_limit, less_safe=have_limit < want_limit)
    have_replicas, want_replicas = actual.num_replicas or 1, declared.num_replicas or 1
    note("num_replicas", have_replicas, want_replicas, less_safe=have_replicas < want_replicas)
    for setting in ("deny_delete", "deny_purge"):
        have_flag, want_flag = bool(getattr(actual, setting)), bool(getattr(declared, setting))
        note(setting, have_flag, want_flag, less_safe=want_flag and not have_flag)
    for setting in ("allow_rollup_hdrs", "sealed"):  # a rollup deletes a subject's records; a seal takes none
        have_flag, want_flag = bool(getattr(actual, setting)), bool(getattr(declared, setting))
        note(setting, have_flag, want_flag, less_safe=have_flag and not want_flag)
    have_window, want_window = round(actual.duplicate_window or 0.0, 3), round(declared.duplicate_window or 0.0, 3)
    # the audit writer stores an event once by its id: a shorter window keeps a resend twice, never loses one
    note("duplicate_window", have_window, want_window, less_safe=False)
    return found


def _policy(value: object) -> str:
    return str(getattr(value, "value", value))


def _limit(value: float | None) -> float:
    """A JetStream limit, unset (None, -1 or 0) as unlimited, so a lower number is always the tighter one."""
    return float("inf") if value is None or value <= 0 else round(float(value), 3)


def _shown(setting: str, value: object) -> str:
    if value == float("inf"):
        return "unlimited"
    if setting == "max_age" and isinstance(value, float):
        return f"{value / DAY_S:g} d"
    if setting == "duplicate_window" and isinstance(value, float):
        return f"{value:g} s"
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value)
