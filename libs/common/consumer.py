"""A durable pull-consumer loop: fetch a batch, let the owner commit it, then ack; isolate what fails."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy
from opentelemetry import trace

from libs.common import metrics
from libs.common.bus import Bus, context_from
from libs.common.deadletter import dead_letter, is_permanent, is_transient
from libs.common.errors import AlprError, Unavailable
from libs.common.pull import ReadyPull
from libs.common.streams import DurableConsumer
from libs.common.tasks import cancelled

log = logging.getLogger(__name__)
tracer = trace.get_tracer("alpr.consumer")

BatchHandler = Callable[[list[Msg]], Awaitable[None]]
T = TypeVar("T")
MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
LAG_EVERY_S = 5.0  # how often the lag gauge asks JetStream, busy or idle
# A batch whose handler has not returned in this long is reported with where it waits (every handler await has
# its own bound, so one this late is a hang to find: once, after a PostgreSQL restart under load, records stored
# nothing for three minutes and logged nothing; docs/operations.md, "A consumer stuck in its handler")
STUCK_AFTER_S = 60.0
STOP_GRACE_S = 5.0  # how long a stop waits for the batch in hand to commit and be acked before cancelling it
# a loop that ended unasked starts again after this pause, doubled each time it ends again (up to the most),
# so a bug that ends it every time writes a line every half minute, not every second
RESTART_AFTER_S = 1.0
RESTART_AFTER_MOST_S = 30.0


class BatchConsumer:
    """Runs until stopped; a batch whose handler fails is handled again one message at a time (`_settle`)."""

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
        # Ordered: a failed batch is retried in place (one message at a time) until it commits, never handed
        # back, so nothing fetched after it can be handled before it (the audit chain follows stream order).
        self._ordered = ordered
        # AckAll: one ack for the last message of a committed batch covers the whole batch, and also every
        # earlier delivery still pending (one a stopped writer never committed): not for the audit writer.
        self._ack_last_only = consumer.config.ack_policy == AckPolicy.ALL
        # Bounded: a message failing alone is dead-lettered once its deliveries are spent (never for AUDIT).
        # Not with AckAll: the ack of a later message would ack one handed back for redelivery.
        self._bounded = (consumer.config.max_deliver or -1) > 0
        self._durable = consumer.config.durable_name or ""
        # a series at 0 from start-up: the first dead letter is then an increase the alert can see
        metrics.DEADLETTERED.labels(bus.name, self._durable)
        metrics.CONSUMER_RESTARTS.labels(bus.name, self._durable)
        self._task: asyncio.Task[None] | None = None
        self._advisories: Subscription | None = None
        self._stopping = asyncio.Event()
        self._lag_at = 0.0
        self.last_error: str | None = None
        self._handling: tuple[float, int] | None = None  # (loop time the handler began, messages), while it runs
        self._watchdog: asyncio.Task[None] | None = None
        self._restart_after = RESTART_AFTER_S
        self._restarting: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consume-{self._consumer.config.durable_name}")
        self._task.add_done_callback(self._ended)
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.create_task(self._watch(), name=f"watch-{self._consumer.config.durable_name}")

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A loop that failed with no stop asked is logged and started again: until then nothing fetched for this
        consumer, and neither the watchdog (it reports a batch in its handler) nor /readyz said so. `_run` keeps
        going past what a fetch or a handler raises, so this is an error from elsewhere in it. What it held is
        handed back by its `finally`. A loop cancelled is not started again: only `stop` and a process shutting
        down (which never called `stop`) cancel it."""
        if self._stopping.is_set():
            return
        if task.cancelled():
            log.warning("the consumer loop of %s was cancelled without a stop; it stays stopped", self._durable)
            return
        pause, self._restart_after = self._restart_after, min(self._restart_after * 2, RESTART_AFTER_MOST_S)
        metrics.CONSUMER_RESTARTS.labels(self._bus.name, self._durable).inc()  # AlprConsumerRestarted
        log.error(
            "the consumer loop of %s ended unasked (%r); starting it again in %g s",
            self._durable,
            task.exception(),
            pause,
        )
        self._restarting = asyncio.get_running_loop().call_later(pause, self._restart)

    def _restart(self) -> None:
        self._restarting = None
        if not self._stopping.is_set():
            self.start()

    async def _watch(self) -> None:
        """Log, with where it waits, a batch held in its handler past STUCK_AFTER_S (again each STUCK_AFTER_S)."""
        loop = asyncio.get_running_loop()
        every_s = STUCK_AFTER_S / 4
        reported = 0.0
        while self._task is not None and not self._task.done():
            await asyncio.sleep(every_s)
            handling = self._handling
            if handling is None:
                reported = 0.0
                continue
            age = loop.time() - handling[0]
            if age >= STUCK_AFTER_S and age - reported >= STUCK_AFTER_S:
                reported = age
                log.warning(
                    "a batch of %d in %s has been in its handler %.0f s, waiting in: %s",
                    handling[1],
                    self._durable,
                    age,
                    waiting_in(self._task),
                )

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Fetch no more; let the batch in hand commit and be acked (up to `grace_s`), hand back the rest."""
        self._stopping.set()
        if self._restarting is not None:
            self._restarting.cancel()
        await cancelled(self._watchdog)
        if self._task:
            done, _ = await asyncio.wait({self._task}, timeout=grace_s)
            if not done:
                self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self._advisories is not None:
            await _quietly(self._advisories.unsubscribe())

    async def _on_max_deliveries(self, advisory: Msg) -> None:
        """A message whose last delivery ended with no answer (its consumer died each time) is kept too.

        The consumer dead-letters a message that fails on its last delivery itself; JetStream tells of one
        that never failed, only timed out, in this advisory, and then no longer delivers it.
        """
        try:
            said = json.loads(advisory.data)
            seq, deliveries = int(said["stream_seq"]), int(said.get("deliveries", 0))
            stored = await self._bus.js.get_msg(self._consumer.stream, seq)
            await dead_letter(
                self._bus,
                stream=self._consumer.stream,
                durable=self._durable,
                subject=stored.subject or "",
                sequence=seq,
                deliveries=deliveries,
                error="delivered max_deliver times, never answered: its consumer stopped or hung each time",
                body=stored.data or b"",
                headers=stored.headers,
            )
        except Exception as exc:  # the message stays in its stream until max_age; the log says which
            log.error("keeping a message %s gave up on failed: %s (%r)", self._durable, exc, advisory.data[:200])

    async def _run(self) -> None:
        sub: ReadyPull | None = None
        ahead: asyncio.Task[list[Msg]] | None = None
        msgs: list[Msg] = []  # the batch in hand until it is handled
        try:
            while not self._stopping.is_set():
                try:
                    if sub is None:
                        # not nats-py's fetch: beside another pull of the consumer it held reads up to its timeout
                        sub = await ReadyPull.bind(self._bus.nc, stream=self._consumer.stream, durable=self._durable)
                        if self._bounded and self._advisories is None:
                            self._advisories = await self._bus.nc.subscribe(
                                f"{MAX_DELIVERIES_ADVISORY}.{self._consumer.stream}.{self._durable}",
                                queue=self._durable,
                                cb=self._on_max_deliveries,
                            )
                    if ahead is None:
                        msgs = await sub.fetch(self._batch, timeout=1.0)
                    else:
                        pending, ahead = ahead, None
                        msgs = await pending
                except (NatsTimeout, TimeoutError):  # nothing waiting: idle, not a failure
                    await self._report_lag()
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # bus down or consumer missing: back off and try again
                    self.last_error = str(exc) or type(exc).__name__
                    log.warning("fetch from %s failed: %s", self._durable, self.last_error)
                    await asyncio.sleep(0.5)
                    continue
                if self._prefetch:
                    ahead = asyncio.create_task(self._fetch_ahead(sub, short=len(msgs) < self._batch))
                await self._settle(msgs, ahead)
                msgs = []
        finally:
            # Stopping: hand back, in stream order, what this consumer holds but has not committed, so the
            # next consumer (a restarted audit writer) gets it first instead of after ack_wait, behind newer
            # messages. A batch committed but not yet acked comes back too, and is stored once.
            held = list(msgs)
            if ahead is not None:
                if not ahead.done():
                    # a fetch in flight is let finish (its own timeout is 1 s): cancelled, what the server had
                    # already sent it would sit unacknowledged until ack_wait instead of being handed back now
                    await asyncio.wait({ahead}, timeout=1.5)
                if ahead.done() and not ahead.cancelled() and ahead.exception() is None:
                    held += ahead.result()
                ahead.cancel()
            if sub is not None:  # delivered after the last fetch returned: later in the stream than all above
                held += sub.take_left_over()
            for msg in held:
                await _quietly(msg.nak())
            # the acks of the last committed batch and the naks above leave this process before it stops
            await _quietly(self._bus.nc.flush(timeout=2))
            if sub is not None:
                # a pull subscription left behind holds replies no fetch will take, and the bus's drain at
                # shutdown would wait on them until its timeout, then log a cancelled gather's traceback
                await _quietly(sub.unsubscribe())

    async def _report_lag(self) -> None:
        """Set the lag gauge from JetStream's own count (waiting plus delivered but unacked), every few seconds."""
        now = asyncio.get_running_loop().time()
        if now - self._lag_at < LAG_EVERY_S:
            return
        self._lag_at = now
        try:
            info = await self._bus.js.consumer_info(self._consumer.stream, self._durable, timeout=1.0)
        except Exception as exc:  # the gauge keeps its last value; the next report tries again
            log.debug("lag of %s unknown: %s", self._durable, exc)
            return
        lag = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        metrics.STREAM_LAG.labels(self._bus.name, self._consumer.stream, self._durable).set(lag)

    async def _fetch_ahead(self, sub: ReadyPull, *, short: bool) -> list[Msg]:
        if short and self._gather_s:
            await asyncio.sleep(self._gather_s)
        msgs = await sub.fetch(self._batch, timeout=1.0)
        if self._prepare is not None:
            try:
                self._prepare(msgs)
            except Exception as exc:  # the handler meets the same batch again and reports it there
                log.debug("preparing a batch of %s failed: %s", self._consumer.config.durable_name, exc)
        return msgs

    async def _handle(self, msgs: list[Msg]) -> Exception | None:
        """Run the handler on one batch and ack it once committed; the handler's error if it failed."""
        links = [trace.Link(span_context) for span_context in _span_contexts(msgs)]
        try:
            with tracer.start_as_current_span(
                f"consume {self._consumer.config.durable_name}",
                kind=trace.SpanKind.CONSUMER,
                links=links,
                attributes={"alpr.service": self._bus.name, "messaging.batch.message_count": len(msgs)},
            ):
                self._handling = (asyncio.get_running_loop().time(), len(msgs))
                try:
                    await self._handler(msgs)
                except asyncio.CancelledError as cancelled_inside:
                    current = asyncio.current_task()
                    if current is None or current.cancelling():  # this consumer is being stopped
                        raise
                    # a future the handler awaited was cancelled by its owner (a driver or client dropping its
                    # waiters as a connection goes): the batch failed, the loop must not end with it
                    raise Unavailable("the handler's wait was cancelled from inside it") from cancelled_inside
                finally:
                    self._handling = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = str(exc)
            log.warning("%s of %s failed: %s", "batch" if len(msgs) > 1 else "message", self._durable, exc)
            return exc
        self.last_error = None
        # committed: only now may JetStream forget these messages (acked before anything else awaits, so a
        # stop's grace running out cannot cancel the task between the commit and the ack)
        if self._ack_last_only:
            await _quietly(msgs[-1].ack())
        else:
            # one after the other: an ack only appends to the client's write buffer, and a task per ack
            # (gather) cost more than the ack itself
            for msg in msgs:
                await _quietly(msg.ack())
        await self._report_lag()
        return None

    async def _settle(self, msgs: list[Msg], ahead: asyncio.Task[list[Msg]] | None) -> None:
        """Handle a batch until each message is committed or, failing alone, set aside.

        A batch that fails is handled one message at a time, so the good ones commit. An outage (the
        database or the bus away) keeps the batch here and retries it with back-off: held in progress it
        spends none of its bounded deliveries. An unbounded consumer (the audit writer) never sets a message
        aside: it retries it in place, in order.
        """
        pause = 0.5
        while msgs:
            error = await self._handle(msgs)
            if error is None:
                return
            if not is_transient(error) and len(msgs) > 1:
                msgs = await self._one_at_a_time(msgs, ahead)
            elif not is_transient(error) and self._bounded and await self._set_aside(msgs[0], error):
                msgs = []
            if msgs:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
                await self._hold(msgs, ahead)

    async def _one_at_a_time(self, msgs: list[Msg], ahead: asyncio.Task[list[Msg]] | None) -> list[Msg]:
        """Handle each message alone; returns those still to retry (from an outage, or an unbounded consumer's
        failing message, on: what follows it waits behind it)."""
        for i, msg in enumerate(msgs):
            error = await self._handle([msg])
            if error is None:
                continue
            if is_transient(error) or not self._bounded or not await self._set_aside(msg, error):
                return msgs[i:]
            await self._hold([], ahead)
        return []

    async def _set_aside(self, msg: Msg, error: Exception) -> bool:
        """A message that failed alone: back to the stream with back-off, or, once its deliveries are spent
        or it can never succeed, into DEADLETTER and terminated. False when the dead letter was not stored."""
        meta = msg.metadata
        deliveries = meta.num_delivered
        limit = self._consumer.config.max_deliver or 0
        if not is_permanent(error) and self._ordered:
            return False  # handed back, it would come again after what follows it: retried in place
        if deliveries < limit and not is_permanent(error):
            backoff = self._consumer.config.backoff or [1.0]
            await _quietly(msg.nak(delay=backoff[min(deliveries, len(backoff)) - 1]))
            return True
        try:
            await dead_letter(
                self._bus,
                stream=meta.stream,
                durable=self._durable,
                subject=msg.subject,
                sequence=meta.sequence.stream,
                deliveries=deliveries,
                error=error,
                body=msg.data,
                headers=msg.headers,
            )
        except AlprError as exc:  # the bus did not keep it: the message stays ours and is tried again
            log.warning("dead-lettering a message of %s failed: %s", self._durable, exc)
            return False
        log.error("dead-lettered %s seq %d (%d deliveries): %s", meta.stream, meta.sequence.stream, deliveries, error)
        await _quietly(msg.term())
        return True

    async def _hold(self, msgs: list[Msg], ahead: asyncio.Task[list[Msg]] | None) -> None:
        """Keep what waits here ours: in progress, JetStream does not redeliver it (ack_wait is 30 s)."""
        held = list(msgs)
        if ahead is not None and ahead.done() and not ahead.cancelled() and ahead.exception() is None:
            held += ahead.result()
        for msg in held:
            await _quietly(msg.in_progress())


def waiting_in(task: asyncio.Task[None] | None, depth: int = 40) -> str:
    """Where a suspended task waits: its chain of awaits, outermost first, as `file:line in function` steps."""
    steps: list[str] = []
    awaited: object = task.get_coro() if task is not None else None
    while awaited is not None and len(steps) < depth:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            steps.append(type(awaited).__name__)  # a Future or another awaitable: where the chain ends
            break
        steps.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " > ".join(steps) or "unknown"


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


class PreparedAhead(Generic[T]):
    """What a handler's `prepare` made of the prefetched batch, kept until that very batch is handled."""

    def __init__(self) -> None:
        self._msgs: list[Msg] | None = None
        self._value: T | None = None

    def keep(self, msgs: list[Msg], value: T) -> None:
        """Keep the prepared form of `msgs`; only the last batch prepared is kept."""
        self._msgs, self._value = msgs, value

    def take(self, msgs: list[Msg]) -> T | None:
        """The prepared form of this batch, once; None when it was not prepared (prepare it now)."""
        # the consumer hands the handler the very list it prepared; a batch split after a failure is a new
        # list, prepared again (held here, the list cannot be freed and its identity reused)
        if self._msgs is not msgs:
            return None
        value, self._msgs, self._value = self._value, None, None
        return value
