"""Audit rules: how an event becomes a chain link, once, in the order the stream delivered it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from libs.common.contracts.audit import AuditEvent
from libs.common.errors import InvalidInput
from services.audit.ledger import escaping
from services.audit.ledger.chain import ChainLink, canonical_json, format_timestamp, link_after
from services.audit.ledger.checkpoints import Checkpoint
from services.audit.ledger.searches import SearchSummary
from services.audit.models import AuditFinding, SearchRow

_LINK_FIELDS = {"event_id", "event_type", "occurred_at", "actor"}
# the type of a record that holds a body which was no audit event at all: kept, never dropped
UNREADABLE_EVENT_TYPE = "unreadable"


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event checked and encoded, waiting only for its place in the chain."""

    event_id: str
    event_type: str
    occurred_at: datetime
    actor: str  # canonical JSON
    payload: str  # canonical JSON: everything of the event the link does not carry itself


def prepare_events(
    bodies: Sequence[bytes], origins: Sequence[tuple[int, datetime]] | None = None
) -> list[PreparedEvent]:
    """Validate and encode message bodies: the writer's CPU work, done before the chain head is known.

    Never raises: an access record is never dropped. A body that cannot be stored as sent (NUL, a lone
    surrogate, a time outside UTC's years) is stored escaped, and one that is no audit event at all as an
    `unreadable` record holding the body; `origins` (stream sequence, publish time per body) names those.
    """
    prepared = []
    for n, body in enumerate(bodies):
        try:
            prepared.append(_prepare(AuditEvent.model_validate_json(body)))
        except (ValueError, OverflowError, InvalidInput) as exc:
            origin = origins[n] if origins is not None else (0, datetime.now(UTC))
            prepared.append(_prepare_unstorable(body, exc, origin))
    return prepared


def _prepare(event: AuditEvent, escaped: list[str] | None = None, reason: str = "") -> PreparedEvent:
    """An event encoded for the chain; ValueError when what it holds cannot be stored as sent."""
    fields = event.model_dump(mode="json")
    actor = fields.pop("actor")
    for name in _LINK_FIELDS:
        fields.pop(name, None)
    if escaped:
        fields[escaping.MARK] = escaping.mark(escaped, reason=reason)
    actor_json, payload_json = canonical_json(actor), canonical_json(fields)
    format_timestamp(event.occurred_at)  # OverflowError here, not in the middle of chaining a batch
    if not (escaping.storable(actor_json) and escaping.storable(payload_json) and escaping.storable(event.event_id)):
        raise ValueError("the event holds characters PostgreSQL cannot store")
    return PreparedEvent(event.event_id, event.event_type.value, event.occurred_at, actor_json, payload_json)


def _prepare_unstorable(body: bytes, error: Exception, origin: tuple[int, datetime]) -> PreparedEvent:
    """The event with its unstorable characters escaped, or else an `unreadable` record holding the body."""
    text = body.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8 become lone surrogates, escaped
    sequence, published = origin
    escaped: list[str] = []
    document: Any = None
    try:
        document = json.loads(text)
        event = AuditEvent.model_validate(escaping.escape_document(document, "", escaped))
    except (ValueError, RecursionError, TypeError):
        event = None
    if event is not None:
        paths, reason = [p.removeprefix(".") for p in escaped], _reason(error)
        try:
            return _prepare(event, paths, reason=reason)
        except OverflowError:
            # a time no UTC year holds (9999 with an offset): stored at its publish time, the sent text kept
            details = {**event.details, "occurred_at_as_sent": event.occurred_at.isoformat()}
            moved = event.model_copy(update={"occurred_at": published, "details": details})
            try:
                return _prepare(moved, paths, reason=f"{reason}; occurred_at replaced by the publish time")
            except (ValueError, OverflowError, InvalidInput):
                pass
        except (ValueError, InvalidInput):
            pass
    kept: list[str] = []
    unreadable = {"body": escaping.escape_document(text, "unreadable.body", kept), "error": _reason(error)}
    fields: dict[str, Any] = {"unreadable": unreadable, "stream_sequence": sequence}
    if kept:
        fields[escaping.MARK] = escaping.mark(kept, reason="not an audit event")
    return PreparedEvent(
        escaping.sent_event_id(document) or f"unreadable-{sequence}-{hashlib.sha256(body).hexdigest()[:16]}",
        UNREADABLE_EVENT_TYPE,
        published,
        canonical_json({"kind": "system", "sub": "audit-writer"}),
        canonical_json(fields),
    )


def _reason(error: Exception) -> str:
    """Why the body was not stored as sent, one bounded line (pydantic's messages quote the input)."""
    return escaping.escape_text(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")[:300]


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


def search_summary(row: SearchRow) -> SearchSummary:
    """A stored search as the sample and the flags see it; a wildcard or a partial match is partial."""
    plate = row.plate or ""
    partial = row.match == "partial" or any(ch in plate for ch in "*?%_")
    return SearchSummary(row.event_id, row.actor_sub or "", row.occurred_at, plate, partial)


def latest_findings(findings: Sequence[AuditFinding]) -> dict[str, AuditFinding]:
    """The finding that stands for each search: the last one recorded."""
    latest: dict[str, AuditFinding] = {}
    for finding in findings:
        latest[finding.event_id] = finding
    return latest


def completeness(gateway: dict[str, int], audit_log: dict[str, int], types: Sequence[str]) -> dict[str, int]:
    """A5: audit records minus gateway count per event type, only where they differ."""
    differences = {t: audit_log.get(t, 0) - gateway.get(t, 0) for t in sorted(set(types) | set(gateway))}
    return {t: d for t, d in differences.items() if d != 0}
