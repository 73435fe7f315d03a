"""A person's own access record naming a read: what a view cites as its search and a correction as its look."""

from __future__ import annotations

from libs.common.contracts.audit import EVENT, EventLookup, EventSummary, EventType
from libs.common.errors import NotFound, Unavailable
from services.gateway.service import Principal
from services.gateway.state import GatewayState


async def own_record_naming(
    rt: GatewayState, principal: Principal, event_id: str, read_id: str, event_type: EventType
) -> EventSummary | None:
    """The audit log's record `event_id` if it is this person's, of this type, and names the read; else None.

    None covers no such record too, so a caller refuses every mismatch alike (fail closed); an audit log that
    cannot be asked is `audit_unavailable`, as the record of the change would be."""
    try:
        event = await rt.bus.call(EVENT, EventLookup(event_id=event_id))
    except NotFound:
        return None
    except Unavailable as err:
        raise Unavailable("the audit log cannot be reached; nothing was done", code="audit_unavailable") from err
    if event.event_type != event_type.value or event.actor_sub != principal.person.sub:
        return None
    return event if read_id in event.result_ids else None
