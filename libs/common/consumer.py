"""A durable pull-consumer loop: fetch a batch, let the owner commit it, then ack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy
from nats.js.client import JetStreamContext
from opentelemetry import trace

from libs.common import metrics
from libs.common.bus import Bus, context_from
from libs.common.streams import DurableConsumer

log = logging.getLogger(__name__)
tracer = trace.get_tracer("alpr.consumer")

BatchHandler = Callable[[list[Msg]], Awaitable[None]]


class BatchConsumer:
    """Runs until stopped; a batch whose handler fails is not acked, so JetStream redelivers it."""

    def __init__(
        self,
        bus: Bus,
        consumer: DurableConsumer,
        handler: BatchHandler,
        *,
        batch: int = 500,
        prefetch: bool = False,
        ordered: bool = False,
        prepare: Callable[[list[Msg]], None] | None = None,
        gather_s: float = 0.0,
    ) -> None:
        self._bus = bus
        self._consumer = consumer
        self._handler = handler
        self._batch = batch
        # Prefetch: the next batch crosses the network while the handler waits on its database.
        self._prefetch = prefetch or prepare is not None
        # Prepare: the handler's CPU work on the prefetched batch, run as soon as it arrives (that is,
        # while the current batch waits on its database); the handler must not rely on it having run.
        self._prepare = prepare
        # Gather: after a short batch (the stream had less than a batch waiting), the prefetch waits this long
        # before asking again, so one transaction takes what arrived meanwhile instead of a handful each: a
        # transaction's fixed cost (begin, the hotlist check, commit, the fetch) over a handful of single-read
        # posts made records' CPU per read 215 µs; gathering 20 ms brought it to about 150. Latency grows by
        # at most this much, and only when the consumer keeps up.
        self._gather_s = gather_s
        # Ordered: a failed batch is retried in place until it commits, never handed back, so nothing
        # fetched after it can be handled before it (the audit chain follows stream order).
        self._ordered = ordered
        # AckAll: one ack for the last message of a committed batch covers the whole batch, and also every
        # earlier delivery still pending (one a stopped writer never committed): not for the audit writer.
        self._ack_last_only = consumer.config.ack_policy == AckPolicy.ALL
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
        sub: JetStreamContext.PullSubscription | None = None
        ahead: asyncio.Task[list[Msg]] | None = None
        msgs: list[Msg] = []  # the batch in hand until it is handled
        try:
            while not self._stopping.is_set():
                try:
                    if sub is None:
                        sub = await self._bus.js.pull_subscribe_bind(
                            durable=self._consumer.config.durable_name or "", stream=self._consumer.stream
                        )
                    if ahead is None:
                        msgs = await sub.fetch(self._batch, timeout=1.0)
                    else:
                        pending, ahead = ahead, None
                        msgs = await pending
                except NatsTimeout:
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # bus down or consumer missing: back off and try again
                    self.last_error = str(exc)
                    log.warning("fetch from %s failed: %s", self._consumer.config.durable_name, exc)
                    await asyncio.sleep(0.5)
                    continue
                if self._prefetch:
                    ahead = asyncio.create_task(self._fetch_ahead(sub, short=len(msgs) < self._batch))
                if self._ordered:
                    await self._until_committed(msgs, ahead)
                elif not await self._handle(msgs):
                    await _nak_all(msgs)
                    await asyncio.sleep(0.5)
                msgs = []
        finally:
            # Stopping: hand back, in stream order, what this consumer holds but has not committed, so the
            # next consumer (a restarted audit writer) gets it first instead of after ack_wait, behind newer
            # messages. A batch committed but not yet acked comes back too, and is stored once.
            held = list(msgs)
            if ahead is not None:
                if ahead.done() and not ahead.cancelled() and ahead.exception() is None:
                    held += ahead.result()
                ahead.cancel()
            for msg in held:
                await _quietly(msg.nak())
            if held:
                await _quietly(self._bus.nc.flush(timeout=2))  # out of this process before it stops

    async def _fetch_ahead(self, sub: JetStreamContext.PullSubscription, *, short: bool) -> list[Msg]:
        if short and self._gather_s:
            await asyncio.sleep(self._gather_s)
        msgs = await sub.fetch(self._batch, timeout=1.0)
        if self._prepare is not None:
            try:
                self._prepare(msgs)
            except Exception as exc:  # the handler meets the same batch again and reports it there
                log.debug("preparing a batch of %s failed: %s", self._consumer.config.durable_name, exc)
        return msgs

    async def _handle(self, msgs: list[Msg]) -> bool:
        """Run the handler on one batch and ack it once committed; False if the handler failed."""
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
            log.exception("batch handler of %s failed", self._consumer)
            return False
        self.last_error = None
        metrics.STREAM_LAG.labels(self._consumer.config.durable_name).set(_pending(msgs))
        # committed: only now may JetStream forget these messages
        if self._ack_last_only:
            await _quietly(msgs[-1].ack())
        else:
            # one after the other: an ack only appends to the client's write buffer, and a task per ack
            # (gather) cost more than the ack itself
            for msg in msgs:
                await _quietly(msg.ack())
        return True

    async def _until_committed(self, msgs: list[Msg], ahead: asyncio.Task[list[Msg]] | None) -> None:
        """Retry a failed batch with back-off until it commits, keeping it and the prefetched batch ours."""
        pause = 0.5
        while not await self._handle(msgs):
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
            held = list(msgs)
            if ahead is not None and ahead.done() and not ahead.cancelled() and ahead.exception() is None:
                held += ahead.result()
            # in progress: JetStream must not redeliver what waits here (ack_wait is 30 s)
            for msg in held:
                await _quietly(msg.in_progress())


async def _nak_all(msgs: list[Msg]) -> None:
    """Hand a failed batch back for redelivery (to this or another replica) after a second."""
    for msg in msgs:
        await _quietly(msg.nak(delay=1.0))


async def _quietly(aw: Awaitable[None]) -> None:
    try:
        await aw
    except Exception as exc:  # an ack lost to a disconnect means a redelivery, which stores once
        log.debug("ack/nak failed: %s", exc)


MAX_LINKS = 128  # OpenTelemetry's default span limit: links past it are dropped anyway


def _span_contexts(msgs: list[Msg]) -> list[trace.SpanContext]:
    """The producers' span contexts, so a batch's span links back to every request that fed it.

    Once per distinct traceparent: the reads of one batch post share their request's, and extracting
    it again for each of a thousand messages cost a tenth of records' ingest work.
    """
    found = []
    seen: set[str] = set()
    for msg in msgs:
        parent = (msg.headers or {}).get("traceparent")
        if parent is None or parent in seen:
            continue
        seen.add(parent)
        span_context = trace.get_current_span(context_from(msg)).get_span_context()
        if span_context.is_valid:
            found.append(span_context)
            if len(found) == MAX_LINKS:
                break
    return found


def batch_key(msgs: list[Msg]) -> tuple[str, int, int]:
    """Which batch this is, for a handler matching it to its prepared form: the reply subject of its first
    message (unique per delivery) and its extent."""
    return (msgs[0].reply or "", len(msgs), msgs[-1].metadata.sequence.stream)


def _pending(msgs: list[Msg]) -> int:
    """Messages still waiting for this consumer after the batch: its lag."""
    try:
        return int(msgs[-1].metadata.num_pending)
    except Exception:
        return 0
