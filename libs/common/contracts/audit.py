"""Audit events: what the gateway (and others) publish on AUDIT and the audit service persists.

Endpoints (request/reply, queue group `audit`): `PERSISTED` (an event is in the log; what every access
waits for) and `EVENT` (what a later view may learn of the search it follows from).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from libs.common.contracts.purpose import Purpose
from libs.common.endpoint import Endpoint


class EventType(StrEnum):
    SEARCH = "search"
    READ_VIEW = "read_view"
    IMAGE_VIEW = "image_view"
    EXPORT = "export"
    ALERT_VIEW = "alert_view"
    ALERT_VERIFICATION = "alert_verification"
    HOTLIST_VIEW = "hotlist_view"  # entries of a list looked at: who checked which plates were wanted
    HOTLIST_CHANGE = "hotlist_change"
    HOLD_CHANGE = "hold_change"
    HOLD_VIEW = "hold_view"
    READ_CORRECTION = "read_correction"
    ADMIN_CHANGE = "admin_change"
    PERSONNEL_CHANGE = "personnel_change"
    AGREEMENT_CHANGE = "agreement_change"
    PARTNER_QUERY = "partner_query"
    PURGE = "purge"
    SIGN_IN_FAILURE = "sign_in_failure"
    ACCESS_DENIED = "access_denied"
    AUDIT_ACCESS = "audit_access"
    # `alpr deadletter show|replay`: an operator reads, or re-drives, a read the consumers set aside
    DEADLETTER_VIEW = "deadletter_view"
    DEADLETTER_REPLAY = "deadletter_replay"


class Actor(BaseModel):
    """Who acted: a person of ours, a partner's person, a camera or the system itself."""

    kind: Literal["person", "partner", "camera", "system"] = "person"
    sub: str
    name: str | None = None
    badge: str | None = None
    agency: str | None = None  # department or agency (ORI)
    unit: str | None = None
    roles: list[str] = Field(default_factory=list)


class AuditEvent(BaseModel):
    """One access or change, with every field requirement A1 names."""

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    event_type: EventType
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    actor: Actor
    purpose: Purpose | None = None
    client_address: str | None = None
    query: dict[str, Any] = Field(default_factory=dict)  # the plate or other data elements used
    result_count: int = 0
    result_ids: list[str] = Field(default_factory=list)
    # not_committed: follows a change's record when the change was then not made (audit_trail.py)
    outcome: Literal["granted", "denied", "not_committed"] = "granted"
    details: dict[str, Any] = Field(default_factory=dict)


class RecordedRequest(BaseModel):
    """A request to change state: it carries the access record its owner commits the change with."""

    audit: AuditEvent | None = Field(
        default=None, description="The change's record, completed by the owner; None only inside the system"
    )


class PersistedQuery(BaseModel):
    event_id: str
    wait_ms: int = 2000


class PersistedReply(BaseModel):
    event_id: str
    seq: int
    record_hash: str


class EventLookup(BaseModel):
    event_id: str


class EventSummary(BaseModel):
    """What another service may learn of a recorded event: enough to tie a detail view to its search."""

    event_id: str
    event_type: str
    actor_sub: str
    purpose: Purpose | None = None
    result_ids: list[str] = Field(default_factory=list)


PERSISTED = Endpoint("alpr.audit.persisted", PersistedQuery, PersistedReply, queue="audit")
EVENT = Endpoint("alpr.audit.event", EventLookup, EventSummary, queue="audit")
