"""A durable pull-consumer loop: fetch a batch, let the owner commit it, then ack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import trace

from libs.common import metrics
from libs.common.bus import Bus, context_from
from libs.common.streams import DurableConsumer

log = logging.getLogger(__name__)
tracer = trace.get_tracer("alpr.consumer")

BatchHandler = Callable[[list[Msg]], Awaitable[None]]


class BatchConsumer:
    """Runs until stopped; a batch whose handler fails is not acked, so JetStream redelivers it."""

    def __init__(self, bus: Bus, consumer: DurableConsumer, handler: BatchHandler, *, batch: int = 500) -> None:
        self._bus = bus
        self._consumer = consumer
        self._handler = handler
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.last_error: str | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consume-{self._consumer.config.durable_name}")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self) -> None:
        sub = None
        while not self._stopping.is_set():
            try:
                if sub is None:
                    sub = await self._bus.js.pull_subscribe_bind(
                        durable=self._consumer.config.durable_name or "", stream=self._consumer.stream
                    )
                msgs = await sub.fetch(self._batch, timeout=1.0)
            except NatsTimeout:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # bus down or consumer missing: back off and try again
                self.last_error = str(exc)
                log.warning("fetch from %s failed: %s", self._consumer.config.durable_name, exc)
                await asyncio.sleep(0.5)
                continue
            links = [trace.Link(span_context) for span_context in _span_contexts(msgs)]
            try:
                with tracer.start_as_current_span(
                    f"consume {self._consumer.config.durable_name}",
                    kind=trace.SpanKind.CONSUMER,
                    links=links,
                    attributes={"alpr.service": self._bus.name, "messaging.batch.message_count": len(msgs)},
                ):
                    await self._handler(msgs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = str(exc)
                log.exception("batch handler of %s failed; batch left for redelivery", self._consumer)
                for msg in msgs:
                    await _quietly(msg.nak(delay=1.0))
                await asyncio.sleep(0.5)
                continue
            self.last_error = None
            metrics.STREAM_LAG.labels(self._consumer.config.durable_name).set(_pending(msgs))
            # committed: only now may JetStream forget these messages
            await asyncio.gather(*(_quietly(m.ack()) for m in msgs))


async def _quietly(aw: Awaitable[None]) -> None:
    try:
        await aw
    except Exception as exc:  # an ack lost to a disconnect means a redelivery, which stores once
        log.debug("ack/nak failed: %s", exc)


def _span_contexts(msgs: list[Msg]) -> list[trace.SpanContext]:
    """The producers' span contexts, so a batch's span links back to every request that fed it."""
    found = []
    for msg in msgs:
        span_context = trace.get_current_span(context_from(msg)).get_span_context()
        if span_context.is_valid:
            found.append(span_context)
    return found


def _pending(msgs: list[Msg]) -> int:
    """Messages still waiting for this consumer after the batch: its lag."""
    try:
        return int(msgs[-1].metadata.num_pending)
    except Exception:
        return 0
