"""`alpr deadletter list|show|replay`: what the consumers set aside, and re-driving it once the cause is fixed.

A dead letter holds a read (plate, place, time), so showing or replaying one is an access: it is recorded
on AUDIT, and confirmed persisted by the audit service, before anything of it is printed or republished;
no record, no data (libs/common/audit_trail.py). `list` prints no read content (origin, sequences,
the error's kind and time only), so it is not one.
"""

from __future__ import annotations

import base64
import getpass
import os
import re
import socket
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from libs.common import deadletter as dl
from libs.common.audit_trail import AuditTrail
from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.errors import InvalidInput, NotFound
from libs.common.streams import DEADLETTER
from libs.common.validation import check_text
from services.gateway.policy.vagueness import is_empty_talk

STREAM = DEADLETTER.name or "DEADLETTER"
OPERATOR_MAX = 200
NAME_MIN_LETTERS = 4  # "x" or "me" names no one
REASON_MAX = 2000
# what `list` prints of an error: its kind (`DataError`, `captured_in_future`); the rest of the text may
# quote the read (a validation error names the values it refused), so only `show` prints it
_ERROR_KIND = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,80}")


@dataclass(frozen=True)
class Operator:
    """Who asks for a dead letter, and why: the actor and purpose of its access record."""

    name: str
    badge: str
    reason: str
    agency: str | None = None

    @classmethod
    def checked(cls, name: str | None, badge: str | None, reason: str | None, *, agency: str | None = None) -> Operator:
        """InvalidInput unless each is given, non-blank, and text a record can carry."""
        values = {"operator": name, "badge": badge, "reason": reason}
        for field, value in values.items():
            if value is None or not value.strip():
                raise InvalidInput(f"{field} is required: a dead letter holds reads", code="missing_field", field=field)
            check_text(value, field=field, max_length=REASON_MAX if field == "reason" else OPERATOR_MAX)
        if agency is not None:
            check_text(agency, field="agency", max_length=OPERATOR_MAX)
        # the record is all an auditor has of why a person read these reads: held to what a search's reason is
        # held to at the gateway ("curious", "test", a keyboard run say nothing), and a name that names someone
        if is_empty_talk(str(reason)):
            raise InvalidInput(
                "the reason must say why: the incident or ticket and what was wrong",
                code="vague_reason",
                field="reason",
            )
        if sum(c.isalpha() for c in str(name)) < NAME_MIN_LETTERS:
            raise InvalidInput("the operator's full name is required", code="invalid_operator", field="operator")
        return cls(name=str(name).strip(), badge=str(badge).strip(), reason=str(reason).strip(), agency=agency or None)

    def actor(self) -> Actor:
        return Actor(kind="person", sub=f"cli:{self.name}", name=self.name, badge=self.badge, agency=self.agency)


async def list_dead_letters(js: JetStreamContext, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest `limit` dead letters, oldest first: origin, sequences, error and when; nothing of the read."""
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


async def show_dead_letter(js: JetStreamContext, seq: int, *, trail: AuditTrail, operator: Operator) -> dict[str, Any]:
    """One dead letter with every header and its body (text when it is UTF-8, else base64), once recorded."""
    msg = await _get(js, seq)
    await trail.record(_access(EventType.DEADLETTER_VIEW, msg, operator, command="show"))
    body = msg.data or b""
    try:
        shown: dict[str, str] = {"body": body.decode()}
    except UnicodeDecodeError:
        shown = {"body_base64": base64.b64encode(body).decode()}
    headers = dict(msg.headers or {})
    # the error's whole text, which may quote the read: only here, once recorded
    return {
        **_summary(msg),
        "error": headers.get(dl.ERROR, ""),
        "origin_subject": headers.get(dl.ORIGIN_SUBJECT),
        "headers": headers,
        **shown,
    }


async def replay_dead_letter(
    js: JetStreamContext, seq: int, *, trail: AuditTrail, operator: Operator
) -> dict[str, Any]:
    """Once recorded, publish the message again to its original subject, then remove it from DEADLETTER."""
    msg = await _get(js, seq)
    headers = dict(msg.headers or {})
    subject = headers.get(dl.ORIGIN_SUBJECT)
    if not subject:
        raise NotFound(f"dead letter {seq} names no original subject", code="deadletter_without_origin")
    await trail.record(_access(EventType.DEADLETTER_REPLAY, msg, operator, command="replay"))
    kept = {k: v for k, v in headers.items() if k not in dl.OURS and not k.startswith("Nats-")}
    # a message id of its own: within the origin's duplicate window the original id would be dropped as a
    # duplicate, and a replay repeated before the delete lands is stored once
    ack = await js.publish(subject, msg.data or b"", headers={**kept, "Nats-Msg-Id": f"deadletter-replay-{seq}"})
    await js.delete_msg(STREAM, seq)
    return {"seq": seq, "replayed_to": subject, "stream": ack.stream, "stream_seq": ack.seq, "duplicate": ack.duplicate}


def _access(event_type: EventType, msg: RawStreamMsg, operator: Operator, *, command: str) -> AuditEvent:
    """The access record of one dead letter: the operator, the letter asked for, and the stated reason."""
    summary = _summary(msg)
    return AuditEvent(
        event_type=event_type,
        actor=operator.actor(),
        query={"deadletter_seq": msg.seq, "origin": summary["origin"], "origin_seq": summary["origin_seq"]},
        result_count=1,
        result_ids=[f"deadletter:{msg.seq}"],
        # the account and machine the command ran as, beside the name typed: what the operator cannot type away
        details={"reason": operator.reason, "command": f"alpr deadletter {command}", **_where_run()},
    )


def _where_run() -> dict[str, str]:
    try:
        account = getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        account = f"uid:{os.getuid()}"
    return {"os_account": account[:OPERATOR_MAX], "host": socket.gethostname()[:OPERATOR_MAX]}


async def _get(js: JetStreamContext, seq: int) -> RawStreamMsg:
    try:
        return await js.get_msg(STREAM, seq)
    except NotFoundError as exc:
        raise NotFound(f"no dead letter {seq}", code="deadletter_not_found") from exc


def error_kind(error: str) -> str:
    """The kind of a dead letter's error, with none of its text: the word before the first colon, or `?`."""
    head = error.split(":", 1)[0].strip()
    if not head:
        return ""
    return head if _ERROR_KIND.fullmatch(head) else "?"


def _summary(msg: RawStreamMsg) -> dict[str, Any]:
    """What `list` prints: no plate, no read, not the error's text, not even the origin subject (it names
    the camera)."""
    headers = msg.headers or {}
    return {
        "seq": msg.seq,
        "origin": f"{headers.get(dl.ORIGIN_STREAM, '?')}/{headers.get(dl.ORIGIN_CONSUMER, '?')}",
        "origin_seq": int(headers.get(dl.ORIGIN_SEQUENCE, "0") or 0),
        "deliveries": int(headers.get(dl.DELIVERIES, "0") or 0),
        "error": error_kind(headers.get(dl.ERROR, "")),
        "at": headers.get(dl.DEADLETTERED_AT),
    }
