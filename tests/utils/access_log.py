"""Helpers for the audit service's tests: events through the real AUDIT stream, the checkpoint key."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.contracts.purpose import Purpose
from services.audit.ledger.checkpoints import load_signing_key

OFFICER = Actor(
    kind="person",
    sub="audit-test-officer",
    name="Pat Doe",
    badge="B1234",
    agency="CA0430000",
    unit="Robbery",
    roles=["officer"],
)
PURPOSE = Purpose(use="wanted_suspect", case_number="SJ-2026-111222", reason="Armed robbery suspect vehicle")


def full_event(event_type: EventType, **update: Any) -> AuditEvent:
    """An event with every A1 field filled in."""
    fields: dict[str, Any] = {
        "event_type": event_type,
        "actor": OFFICER,
        "purpose": PURPOSE,
        "client_address": "198.51.100.23",
        "query": {"plate": "8ABC123"},
        "result_count": 2,
        "result_ids": ["read-1", "read-2"],
    }
    return AuditEvent(**{**fields, **update})


async def record(system: Any, event: AuditEvent) -> Any:
    """Publish to AUDIT the way the gateway does and wait until the record is stored."""
    return await system.runtime("gateway").audit.record(event)


def public_key(system: Any) -> Ed25519PublicKey:
    """The checkpoint key as an auditor holds it: out of band, not from the API under test."""
    return load_signing_key(system.stack.audit_signing_key()).public_key()


def public_key_b64(system: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key(system).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


LOG_COLUMNS = "seq, event_id, event_type, occurred_at, recorded_at, actor, payload, prev_hash, hash"


async def copy_log(system: Any, admin_db: Any, prefix: str, *, records: int) -> str:
    """A scratch schema holding a copy of the live access log and its checkpoints, after `records` more."""
    for _ in range(records):
        await record(system, full_event(EventType.SEARCH))
    await system.runtime("audit").writer.checkpoint_tick(force=True)
    schema = prefix + uuid.uuid4().hex[:8]
    await admin_db.execute(f"CREATE SCHEMA {schema}")
    await admin_db.execute(f"CREATE TABLE {schema}.access_records (LIKE audit.access_records INCLUDING ALL)")
    await admin_db.execute(f"CREATE TABLE {schema}.checkpoints (LIKE audit.checkpoints INCLUDING ALL)")
    await admin_db.execute(
        f"INSERT INTO {schema}.access_records ({LOG_COLUMNS}) SELECT {LOG_COLUMNS} FROM audit.access_records"
    )
    await admin_db.execute(f"INSERT INTO {schema}.checkpoints SELECT * FROM audit.checkpoints")
    return schema
