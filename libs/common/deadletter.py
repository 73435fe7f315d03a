"""The dead-letter stream: a message no consumer could handle is kept there with where it came from and why."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from libs.common import metrics
from libs.common.bus import Bus
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
    # the same message set aside twice (its term lost to a disconnect) is kept once
    msg_id = f"{stream}:{durable}:{sequence}" + (f":{part}" if part else "")
    await bus.publish_durable(deadletter_subject(stream, durable), body, msg_id=msg_id, headers=kept, traced=False)
    metrics.DEADLETTERED.labels(durable).inc()
