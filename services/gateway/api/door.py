"""The door every non-camera request passes: hostile text, nesting and times are refused before a route runs.

One mechanism for all routes (JSON and form bodies, the query string and the path), using the shared rules of
libs/common/validation.py, so nothing a route forwards to records, sharing or the audit log can carry a byte
PostgreSQL refuses. Field limits (lengths, one line or many) are the request models' own. Camera posts go to
their own sub-application past this (api/camera_posts.py) and check the same rules there. The door is also the last
catch: an exception no handler knew becomes a logged 500 with the error body, never a dropped connection.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common.errors import AlprError, InvalidInput, PayloadTooLarge
from libs.common.oauth.errors import OAuthError
from libs.common.validation import (
    DEFAULT_TEXT_MAX,
    check_document_text,
    check_query_string,
    check_text,
    check_timestamp_text,
    load_json,
)
from libs.common.web import error_response

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
TOKEN_PATH = "/oauth/token"
# Bodies the door reads whole; multipart and raw hotlist files are streamed to their route and checked there.
MAX_CHECKED_BODY = 64 * 1024 * 1024


class InputDoor:
    """ASGI middleware: refuse what could not be stored as sent, answer 4xx naming the field."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            receive = await self._check(scope, receive)
        except AlprError as refusal:
            await _answer(scope, refusal)(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ValidationError as err:
            # a contract built from what the caller sent refused it: theirs to fix, though the route should
            # have declared the same limit (logged, so it can)
            log.warning("a contract refused %s %s: %s", scope.get("method"), scope.get("path"), err)
            if started:
                raise
            fields = [".".join(str(part) for part in e["loc"]) for e in err.errors()]
            invalid = InvalidInput("the request is not valid", code="invalid_request", fields=fields)
            await error_response(invalid, "gateway")(scope, receive, send)
        except Exception:
            log.exception("unexpected failure on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await error_response(AlprError("an unexpected error; it has been logged"), "gateway")(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> Receive:
        """Check path, query and body; return a receive that replays the body the door has read."""
        path = scope.get("path", "")
        check_text(path, field="path", max_length=DEFAULT_TEXT_MAX)
        for segment in path.split("/"):  # a day in the path (audit completeness) is a time like any other
            check_timestamp_text(segment, field="path")
        check_query_string(scope.get("query_string", b""))
        kind = _content_type(scope)
        if not (kind == FORM or kind in ("", "application/json") or kind.endswith("+json")):
            return receive
        if kind == "" and _declared_length(scope) > MAX_CHECKED_BODY:
            return receive  # an untyped upload (a raw hotlist file): its route reads and checks it
        body = await _read_body(receive)
        if not body:
            return _replay(body, receive)
        if kind == FORM:
            for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
                check_text(name, field="form", max_length=None)
                check_text(value, field=name, max_length=None)
                check_timestamp_text(value, field=name)
        else:
            document = _document(body)
            if document is not None:
                check_document_text(document, timestamps=True)
        return _replay(body, receive)


def _answer(scope: Scope, refusal: AlprError) -> Response:
    if scope.get("path") == TOKEN_PATH:
        # partners' OAuth libraries parse RFC 6749 errors, not the house's body
        oauth = OAuthError("invalid_request", refusal.message)
        return JSONResponse(oauth.to_body(), status_code=oauth.status, headers=oauth.headers)
    return error_response(refusal, "gateway")


def _document(body: bytes) -> object | None:
    """The decoded JSON, refused when too deep; None when it does not parse (the route answers that 422)."""
    try:
        return load_json(body)
    except AlprError as err:
        if err.code == "json_too_deep":
            raise
        return None


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_CHECKED_BODY:
            raise PayloadTooLarge("the body is larger than any form or JSON request", code="body_too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, rest: Receive) -> Receive:
    """The body once, then the client's own messages (a streaming response listens for the disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await rest()

    return receive
