"""The NATS bus: one connection per process, JetStream publishing, typed request/reply, trace headers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import NoStreamResponseError
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from sqlalchemy.exc import DBAPIError

from libs.common.batch_publish import BatchPublisher, Outgoing
from libs.common.db import refused_value
from libs.common.endpoint import Endpoint, Rep, Req
from libs.common.errors import AlprError, PayloadTooLarge, Unavailable, error_from_body
from libs.common.validation import MAX_JSON_DEPTH, check_document_text, load_json

log = logging.getLogger(__name__)
tracer = trace.get_tracer("alpr.bus")

ERROR_HEADER = "Alpr-Error"
STATUS_HEADER = "Alpr-Status"
# a request wraps what a caller sent in a level or two of its own; the door already bounds the caller's part
BUS_JSON_DEPTH = 2 * MAX_JSON_DEPTH


def trace_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Current W3C trace context as NATS headers, so one trace crosses the bus."""
    carrier = dict(headers or {})
    propagate.inject(carrier)
    return carrier


def context_from(msg: Msg) -> otel_context.Context:
    """The trace context a message carried in its headers."""
    return propagate.extract(dict(msg.headers or {}))


class Bus:
    """Owns the NATS connection of a process; built in lifespan, closed on shutdown."""

    def __init__(
        self, nc: Client, *, name: str = "", publish_attempts: int = 3, publish_timeout_s: float = 2.0
    ) -> None:
        self.nc = nc
        self.name = name
        self.js: JetStreamContext = nc.jetstream(timeout=publish_timeout_s)
        self._attempts = publish_attempts
        self._timeout = publish_timeout_s
        self._subs: list[Any] = []
        self._batches: BatchPublisher | None = None

    @classmethod
    async def connect(cls, url: str, *, name: str, user: str | None = None, password: str | None = None) -> Bus:
        """Connect with callbacks that log trouble; reconnects forever so a NATS restart heals.

        `url` may name several servers of one cluster, comma-separated (ALPR_NATS_URL): the client starts at
        any that answers and moves to another when its server goes away.
        """

        async def on_error(exc: Exception) -> None:
            log.warning("nats error (%s): %s", name, exc)

        async def on_disconnect() -> None:
            log.warning("nats disconnected (%s)", name)

        async def on_reconnect() -> None:
            log.info("nats reconnected (%s)", name)

        nc = await nats.connect(
            servers=[server.strip() for server in url.split(",") if server.strip()],
            name=name,
            user=user,
            password=password,
            error_cb=on_error,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=5,
            allow_reconnect=True,
        )
        return cls(nc, name=name)

    async def close(self) -> None:
        """Drain subscriptions so in-flight handlers finish, then close."""
        if not self.nc.is_closed:
            try:
                await asyncio.wait_for(self.nc.drain(), timeout=5)
            except (TimeoutError, Exception):
                await self.nc.close()

    @property
    def connected(self) -> bool:
        return self.nc.is_connected

    async def publish_durable(
        self,
        subject: str,
        payload: bytes,
        *,
        msg_id: str,
        headers: dict[str, str] | None = None,
        traced: bool = True,
    ) -> bool:
        """Publish to JetStream and wait for its ack; retries a bounded number of times, then Unavailable.

        Returns True when the stream already had this message id (a duplicate). Bulk callers pass
        `traced=False` and wrap the whole batch in one span of their own.
        """
        last: Exception | None = None
        if traced:
            with tracer.start_as_current_span(f"publish {subject}", kind=trace.SpanKind.PRODUCER):
                hdrs = trace_headers({**(headers or {}), "Nats-Msg-Id": msg_id})
        else:
            hdrs = trace_headers({**(headers or {}), "Nats-Msg-Id": msg_id})
        for attempt in range(self._attempts):
            try:
                ack = await self.js.publish(subject, payload, timeout=self._timeout, headers=hdrs)
                return bool(ack.duplicate)
            except (NatsTimeout, NoStreamResponseError, NoRespondersError, nats.errors.Error) as exc:
                last = exc
                await asyncio.sleep(0.05 * (2**attempt))
        raise Unavailable("the message bus did not acknowledge", code="bus_unavailable", reason=str(last))

    async def publish_durable_many(self, messages: Sequence[Outgoing]) -> int:
        """Publish many to JetStream (one trace context for all) and wait for every ack; returns duplicates.

        Unavailable once a message stays unacknowledged after the bounded retries; the caller's own span
        covers the batch.
        """
        if self._batches is None:
            self._batches = BatchPublisher(self.nc, attempts=self._attempts, timeout_s=self._timeout)
        return await self._batches.publish(messages, trace_headers())

    async def call(self, endpoint: Endpoint[Req, Rep], body: Req, *, timeout: float = 5.0) -> Rep:
        """Ask a service through one of its endpoints: a typed error reply is raised as that error; silence is
        Unavailable; the reply is the endpoint's reply model."""
        if not isinstance(body, endpoint.request):
            raise TypeError(f"{endpoint.subject} carries {endpoint.request.__name__}, not {type(body).__name__}")
        subject = endpoint.subject
        with tracer.start_as_current_span(
            f"request {subject}", kind=trace.SpanKind.CLIENT, attributes={"alpr.service": self.name}
        ):
            try:
                msg = await self.nc.request(
                    subject, body.model_dump_json().encode(), timeout=timeout, headers=trace_headers()
                )
            except NoRespondersError as exc:
                raise Unavailable(f"no service answers {subject}", code="service_unavailable") from exc
            except nats.errors.MaxPayloadError as exc:
                raise PayloadTooLarge("the request exceeds the bus's message size", code="payload_too_large") from exc
            except NatsTimeout as exc:
                raise Unavailable(f"{subject} did not answer in time", code="service_timeout") from exc
            if msg.headers and ERROR_HEADER in msg.headers:
                raise error_from_body(json.loads(msg.data), int(msg.headers.get(STATUS_HEADER, "500")))
            try:
                return endpoint.reply.model_validate_json(msg.data)
            except ValueError as exc:
                # typed, never a bare ValidationError: a caller that handles AlprError (records' recognition)
                # would otherwise fail as if its own message were bad (a NaN the replier wrote as null). Not
                # chained: deadletter.is_permanent follows __cause__, and the caller's message is not at fault
                raise AlprError(
                    f"{subject} answered outside its reply model: {str(exc)[:300]}", code="invalid_reply"
                ) from None

    async def serve(self, endpoint: Endpoint[Req, Rep], handler: Callable[[Req], Awaitable[Rep]]) -> None:
        """Answer an endpoint in its queue group; errors go back as typed error replies."""
        subject, request_model = endpoint.subject, endpoint.request

        async def on_msg(msg: Msg) -> None:
            token = otel_context.attach(context_from(msg))
            try:
                with tracer.start_as_current_span(
                    f"handle {subject}", kind=trace.SpanKind.SERVER, attributes={"alpr.service": self.name}
                ):
                    # the services behind the gateway refuse again what it refuses: no request carries a byte
                    # PostgreSQL would refuse, whoever sent it
                    check_document_text(load_json(msg.data, limit=BUS_JSON_DEPTH))
                    reply = await handler(request_model.model_validate_json(msg.data))
                    await msg.respond(reply.model_dump_json().encode())
            except AlprError as err:
                await self._respond_error(msg, err)
            except (DBAPIError, OSError) as exc:
                refusal = refused_value(exc) if isinstance(exc, DBAPIError) else None
                log.warning("%s in %s: %s", "refused value" if refusal else "dependency failure", subject, exc)
                await self._respond_error(
                    msg, refusal or Unavailable("a dependency is unavailable", code="database_unavailable")
                )
            except ValueError as exc:  # pydantic validation of the request
                await self._respond_error(msg, AlprError(str(exc)[:500], code="invalid_request"), status=422)
            except Exception as exc:
                refused = refused_value(exc)  # a raw asyncpg connection's refusal of a value is the caller's
                if refused is None:
                    log.exception("handler for %s failed", subject)
                else:
                    log.warning("refused value in %s: %s", subject, exc)
                await self._respond_error(msg, refused or AlprError(type(exc).__name__))
            finally:
                otel_context.detach(token)

        self._subs.append(await self.nc.subscribe(subject, queue=endpoint.queue, cb=on_msg))

    async def _respond_error(self, msg: Msg, err: AlprError, status: int | None = None) -> None:
        if msg.reply:
            headers = {ERROR_HEADER: err.code, STATUS_HEADER: str(status or err.status)}
            await self.nc.publish(msg.reply, json.dumps(err.to_body()).encode(), headers=headers)
