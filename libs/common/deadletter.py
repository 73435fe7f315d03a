"""The dead-letter stream: a message no consumer could handle is kept there with where it came from and why;
and how a failure is told apart: an outage (retry, spend nothing) from a message that can never succeed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import asyncpg
import sqlalchemy.exc

from libs.common import metrics
from libs.common.bus import Bus
from libs.common.errors import InvalidInput, MalformedPayload, Unavailable
from libs.common.streams import deadletter_subject

ORIGIN_SUBJECT = "Alpr-Origin-Subject"
ORIGIN_STREAM = "Alpr-Origin-Stream"
ORIGIN_SEQUENCE = "Alpr-Origin-Sequence"
ORIGIN_CONSUMER = "Alpr-Origin-Consumer"
ORIGIN_MSG_ID = "Alpr-Origin-Msg-Id"
DELIVERIES = "Alpr-Deliveries"
ERROR = "Alpr-Deadletter-Error"
DEADLETTERED_AT = "Alpr-Deadlettered-At"
OURS = (
    ORIGIN_SUBJECT, ORIGIN_STREAM, ORIGIN_SEQUENCE, ORIGIN_CONSUMER, ORIGIN_MSG_ID, DELIVERIES, ERROR, DEADLETTERED_AT,
)  # fmt: skip
# headers of the original that must not travel: a message id would make a replay a duplicate in its stream
_NOT_KEPT = ("Nats-Msg-Id", "Nats-Expected-Stream", "Nats-Expected-Last-Sequence", "Nats-Expected-Last-Msg-Id")
MAX_ERROR_CHARS = 1_000
# a header value is one line of printable text; the error of a hostile message may hold anything
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def error_text(error: BaseException | str) -> str:
    """The error as one bounded line a header can carry."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return _UNPRINTABLE.sub(" ", text)[:MAX_ERROR_CHARS]


async def dead_letter(
    bus: Bus,
    *,
    stream: str,
    durable: str,
    subject: str,
    sequence: int,
    deliveries: int,
    error: BaseException | str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    part: str = "",
) -> None:
    """Copy a message to DEADLETTER with its origin and error; raises Unavailable when the bus does not ack.

    `part` names one piece of a message set aside alone (a read of a bundle), so each piece is kept once.
    """
    kept = {k: v for k, v in (headers or {}).items() if k not in _NOT_KEPT and k not in OURS}
    original_id = (headers or {}).get("Nats-Msg-Id")
    if original_id:
        kept[ORIGIN_MSG_ID] = original_id
    kept.update(
        {
            ORIGIN_SUBJECT: subject,
            ORIGIN_STREAM: stream,
            ORIGIN_SEQUENCE: str(sequence),
            ORIGIN_CONSUMER: durable,
            DELIVERIES: str(deliveries),
            ERROR: error_text(error),
            DEADLETTERED_AT: datetime.now(UTC).isoformat(),
        }
    )
    # the same message set aside twice (its term lost to a disconnect, or its ack timer running out while the
    # consumer set it aside, so the max-deliveries advisory sets it aside too) is kept once, and counted once
    msg_id = f"{stream}:{durable}:{sequence}" + (f":{part}" if part else "")
    to = deadletter_subject(stream, durable)
    duplicate = await bus.publish_durable(to, body, msg_id=msg_id, headers=kept, traced=False)
    if not duplicate:
        metrics.DEADLETTERED.labels(bus.name, durable).inc()


def is_transient(error: BaseException) -> bool:
    """An outage rather than the message: a connection, a timeout, PostgreSQL shutting down or out of room."""
    for cause in _causes(error):
        if isinstance(cause, ValueError):  # asyncpg's DataError is an InterfaceError too: a value it refused
            return False
        if isinstance(cause, Unavailable | OSError | TimeoutError | asyncpg.InterfaceError):
            return True
        # "cannot switch to state 12; another operation (2) is in progress": an idle pooled connection that has
        # read PostgreSQL's shutdown notice but not yet seen its socket close (a restart); the next one works.
        # Only that one: the driver's other internal errors (a codec, type introspection) would recur each time
        if isinstance(cause, asyncpg.InternalClientError) and "cannot switch to state" in str(cause):
            return True
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, sqlalchemy.exc.DisconnectionError | sqlalchemy.exc.TimeoutError):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _OUTAGE_CLASSES:
            return True
    return False


def is_permanent(error: BaseException) -> bool:
    """The message itself can never be handled: it does not parse, or PostgreSQL refuses a value in it."""
    for cause in _causes(error):
        if isinstance(cause, ValueError | OverflowError | InvalidInput | MalformedPayload):
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):  # data exception
            return True
    return False


# SQLSTATE classes of an outage: connection, transaction rollback, resources, operator, system
_OUTAGE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps (SQLAlchemy's DBAPIError around the driver's)."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(found) < 8:
        found.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) and orig is not current else current.__cause__
    return found
