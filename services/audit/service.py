"""Audit rules: how an event becomes a chain link, once, in the order the stream delivered it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from libs.common.contracts.audit import AuditEvent
from services.audit.ledger.chain import ChainLink, canonical_json, link_after
from services.audit.ledger.checkpoints import Checkpoint
from services.audit.ledger.searches import SearchSummary

_LINK_FIELDS = {"event_id", "event_type", "occurred_at", "actor"}


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event checked and encoded, waiting only for its place in the chain."""

    event_id: str
    event_type: str
    occurred_at: datetime
    actor: str  # canonical JSON
    payload: str  # canonical JSON: everything of the event the link does not carry itself


def prepare_events(bodies: Sequence[bytes]) -> list[PreparedEvent]:
    """Validate and encode message bodies: the writer's CPU work, done before the chain head is known.

    An unreadable body raises: it is still evidence, so it is never dropped silently.
    """
    prepared = []
    for body in bodies:
        event = AuditEvent.model_validate_json(body)
        fields = event.model_dump(mode="json")
        actor = fields.pop("actor")
        for name in _LINK_FIELDS:
            fields.pop(name, None)
        prepared.append(
            PreparedEvent(
                event.event_id, event.event_type.value, event.occurred_at, canonical_json(actor), canonical_json(fields)
            )
        )
    return prepared


def links_for(events: Sequence[PreparedEvent], head: ChainLink | None, already_stored: set[str]) -> list[ChainLink]:
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
            event_type=event.event_type,
            occurred_at=event.occurred_at,
            actor=event.actor,
            payload=event.payload,
        )
        links.append(previous)
    return links


def checkpoint_due(
    tree_size: int, last: Checkpoint | None, now: datetime, *, every: int, interval_s: float, since: datetime
) -> bool:
    """A new checkpoint is due after `every` records or `interval_s` seconds with records unsigned."""
    signed_size = last.tree_size if last is not None else 0
    if tree_size <= signed_size:
        return False
    signed_at = last.timestamp if last is not None else since
    return tree_size - signed_size >= every or (now - signed_at).total_seconds() >= interval_s


def search_summary(row: dict[str, Any]) -> SearchSummary:
    """A stored search as the sample and the flags see it; a wildcard or a partial match is partial."""
    plate = str(row.get("plate") or "")
    partial = row.get("match") == "partial" or any(ch in plate for ch in "*?%_")
    return SearchSummary(str(row["event_id"]), str(row["actor_sub"] or ""), row["occurred_at"], plate, partial)


def latest_findings(findings: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The finding that stands for each search: the last one recorded."""
    latest: dict[str, dict[str, Any]] = {}
    for finding in findings:
        latest[finding["event_id"]] = finding
    return latest


def completeness(gateway: dict[str, int], audit_log: dict[str, int], types: Sequence[str]) -> dict[str, int]:
    """A5: audit records minus gateway count per event type, only where they differ."""
    differences = {t: audit_log.get(t, 0) - gateway.get(t, 0) for t in sorted(set(types) | set(gateway))}
    return {t: d for t, d in differences.items() if d != 0}
