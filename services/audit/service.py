"""Audit rules: how an event becomes a chain link, once, in the order the stream delivered it."""

from __future__ import annotations

from collections.abc import Sequence

from libs.common.contracts.audit import AuditEvent
from services.audit.ledger.chain import ChainLink, canonical_json, link_after

_LINK_FIELDS = {"event_id", "event_type", "occurred_at", "actor"}


def event_payload(event: AuditEvent) -> str:
    """Everything of the event except the fields the link carries itself, as canonical JSON."""
    return canonical_json(event.model_dump(mode="json", exclude=_LINK_FIELDS))


def links_for(
    events: Sequence[AuditEvent], head: ChainLink | None, already_stored: set[str]
) -> list[ChainLink]:
    """Chain the events after `head`, skipping any already stored or repeated in the batch."""
    links: list[ChainLink] = []
    seen = set(already_stored)
    previous = head
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        previous = link_after(
            previous,
            event_id=event.event_id,
            event_type=event.event_type.value,
            occurred_at=event.occurred_at,
            actor=canonical_json(event.actor.model_dump(mode="json")),
            payload=event_payload(event),
        )
        links.append(previous)
    return links
