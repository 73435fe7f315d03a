"""What admin routes share: the registry's view of a person, and the audit record of each change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from libs.common.audit_trail import RecordedChange
from libs.common.contracts.audit import AuditEvent, EventType
from services.gateway.models import Person, TrainingRecord
from services.gateway.policy.training import topic_expiries
from services.gateway.service import Principal, actor_of


class TrainingView(BaseModel):
    course: str
    topics: list[str]
    completed_at: datetime
    expires_at: datetime
    recorded_by: str


class PersonView(BaseModel):
    """A person as the registry shows them to admins (D1–D4)."""

    sub: str
    name: str
    badge: str
    agency: str
    unit: str
    roles: list[str]
    user_class: str | None
    status: str
    status_reason: str | None
    training_expires_at: datetime | None  # every topic current until then
    last_active_at: datetime | None
    approved_by: str | None
    created_at: datetime | None
    training: list[TrainingView] = []
    # each policy topic's latest expiry (None: never covered), shown with the records they come from
    training_topics: dict[str, datetime | None] = {}


def person_view(person: Person, training: list[TrainingRecord] | None = None) -> PersonView:
    return PersonView(
        **person.model_dump(exclude={"failures_cleared_at"}),
        training=[TrainingView(**t.model_dump()) for t in training or []],
        training_topics={t.value: e for t, e in topic_expiries(training).items()} if training is not None else {},
    )


def snapshot(person: Person) -> dict[str, Any]:
    """The fields a change is recorded with, before and after."""
    return person.model_dump(
        mode="json", include={"roles", "user_class", "status", "status_reason", "training_expires_at"}
    )


def record_change(
    recorded: RecordedChange,
    principal: Principal,
    *,
    event_type: EventType,
    subject: str,
    change: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    **details: Any,
) -> None:
    """Every personnel and admin change is in the audit log before it is committed."""
    recorded.record(
        AuditEvent(
            event_type=event_type,
            actor=actor_of(principal),
            query={"subject": subject},
            details={"change": change, "before": before, "after": after, **details},
        )
    )
