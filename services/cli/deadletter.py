"""`alpr deadletter list|show|replay`: what the consumers set aside, and re-driving it once the cause is fixed."""

from __future__ import annotations

import base64
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from libs.common import deadletter as dl
from libs.common.errors import NotFound
from libs.common.streams import DEADLETTER

STREAM = DEADLETTER.name or "DEADLETTER"


async def list_dead_letters(js: JetStreamContext, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` dead letters, oldest first: origin, sequences, error and when."""
    state = (await js.stream_info(STREAM)).state
    found: list[dict[str, Any]] = []
    seq = state.last_seq
    while seq >= max(state.first_seq, 1) and len(found) < limit:
        try:
            found.append(_summary(await js.get_msg(STREAM, seq)))
        except NotFoundError:
            pass  # replayed (deleted) since
        seq -= 1
    return found[::-1]


async def show_dead_letter(js: JetStreamContext, seq: int) -> dict[str, Any]:
    """One dead letter with every header and its body (text when it is UTF-8, else base64)."""
    msg = await _get(js, seq)
    body = msg.data or b""
    try:
        shown: dict[str, str] = {"body": body.decode()}
    except UnicodeDecodeError:
        shown = {"body_base64": base64.b64encode(body).decode()}
    return {**_summary(msg), "headers": dict(msg.headers or {}), **shown}


async def replay_dead_letter(js: JetStreamContext, seq: int) -> dict[str, Any]:
    """Publish the message again to its original subject, then remove it from DEADLETTER."""
    msg = await _get(js, seq)
    headers = dict(msg.headers or {})
    subject = headers.get(dl.ORIGIN_SUBJECT)
    if not subject:
        raise NotFound(f"dead letter {seq} names no original subject", code="deadletter_without_origin")
    kept = {k: v for k, v in headers.items() if k not in dl.OURS and not k.startswith("Nats-")}
    # a message id of its own: within the origin's duplicate window the original id would be dropped as a
    # duplicate, and a replay repeated before the delete lands is stored once
    ack = await js.publish(subject, msg.data or b"", headers={**kept, "Nats-Msg-Id": f"deadletter-replay-{seq}"})
    await js.delete_msg(STREAM, seq)
    return {"seq": seq, "replayed_to": subject, "stream": ack.stream, "stream_seq": ack.seq, "duplicate": ack.duplicate}


async def _get(js: JetStreamContext, seq: int) -> RawStreamMsg:
    try:
        return await js.get_msg(STREAM, seq)
    except NotFoundError as exc:
        raise NotFound(f"no dead letter {seq}", code="deadletter_not_found") from exc


def _summary(msg: RawStreamMsg) -> dict[str, Any]:
    headers = msg.headers or {}
    return {
        "seq": msg.seq,
        "origin": f"{headers.get(dl.ORIGIN_STREAM, '?')}/{headers.get(dl.ORIGIN_CONSUMER, '?')}",
        "origin_subject": headers.get(dl.ORIGIN_SUBJECT),
        "origin_seq": int(headers.get(dl.ORIGIN_SEQUENCE, "0") or 0),
        "deliveries": int(headers.get(dl.DELIVERIES, "0") or 0),
        "error": headers.get(dl.ERROR, ""),
        "at": headers.get(dl.DEADLETTERED_AT),
    }
