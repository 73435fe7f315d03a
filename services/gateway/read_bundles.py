"""The gateway's READS publishing: reads bundled and handed to JetStream, every ack awaited.

A batch post's reads go in bundles per camera subject. Single-read posts that arrive while an earlier one
of their agency waits on its ack are published together as one bundle when that ack comes (`LoneReads`),
the way a database commits concurrent transactions in one flush: under load the stream, the gateway and
records handle one message for many posts instead of one each, and a post arriving alone goes at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry import trace

from libs.common.batch_publish import Outgoing
from libs.common.bus import Bus
from libs.common.contracts.reads import BUNDLE_HEADER, ReadIn
from libs.common.errors import PayloadTooLarge, Unavailable
from libs.common.streams import READS_INGESTED, reads_subject
from libs.common.telemetry import hot_path_span

tracer = trace.get_tracer("alpr.gateway")
# a bundle's size: the bus's and records' work per message is shared by up to this many reads, while a
# bundle stays far below the bus's message limit even with images
BUNDLE_READS = 50
BUNDLE_BYTES = 512 * 1024
# bundles of one agency awaiting their acks at once: a full bundle goes without waiting on another's ack, so
# reads with images (a bundle of one or two) are not published one ack after another
BUNDLES_IN_FLIGHT = 8
# room left in a message for its headers (trace context, message id, bundle count), which count too
HEADER_ROOM = 4096


async def publish_reads(bus: Bus, reads: list[ReadIn]) -> int:
    """Hand every read to JetStream and wait for all acks; any failure means the post is not accepted.

    Returns how many reads the stream already held from an identical earlier post (a camera's resend).
    """
    messages = read_messages(reads)
    _check_size(bus, messages)
    return await _publish(bus, messages)


def _check_size(bus: Bus, messages: list[Outgoing]) -> None:
    for m in messages:
        _check_payload(bus, m.payload)


def _check_payload(bus: Bus, payload: bytes) -> None:
    limit = bus.nc.max_payload - HEADER_ROOM
    if len(payload) > limit:
        # a read the bus cannot carry would be refused on every retry: 413 now, never 503 forever
        raise PayloadTooLarge(f"a read exceeds the bus's {limit} bytes", code="read_too_large", limit=limit)


async def _publish(bus: Bus, messages: list[Outgoing], links: Sequence[trace.Link] = ()) -> int:
    with hot_path_span(
        tracer,
        "publish READS",
        kind=trace.SpanKind.PRODUCER,
        attributes={"messaging.batch.message_count": len(messages)},
        links=list(links),
    ):
        try:
            return await bus.publish_durable_many(messages)
        except Unavailable as exc:
            raise Unavailable("the read stream did not acknowledge; retry", code="bus_unavailable") from exc


def read_messages(reads: list[ReadIn]) -> list[Outgoing]:
    """A lone read as itself, deduplicated by its read id; a batch's reads in bundles per camera subject.

    A bundle is deduplicated by the ids it holds, so a post resent whole is stored once by JetStream;
    records stores each read once by its id whatever bundle brings it.
    """
    bodies: dict[str, list[tuple[str, bytes]]] = {}
    for r in reads:
        bodies.setdefault(reads_subject(r.agency, r.camera_id), []).append((r.read_id, r.model_dump_json().encode()))
    return [_message(subject, bundle) for subject, group in bodies.items() for bundle in _bounded(group)]


def _bounded(group: list[tuple[str, bytes]]) -> list[list[tuple[str, bytes]]]:
    """`group` cut into bundles of at most BUNDLE_READS reads and BUNDLE_BYTES (a larger read goes alone)."""
    bundles = []
    start = 0
    while start < len(group):
        end, size = start, 0
        while end < len(group) and end - start < BUNDLE_READS:
            if end > start and size + len(group[end][1]) > BUNDLE_BYTES:
                break
            size += len(group[end][1])
            end += 1
        bundles.append(group[start:end])
        start = end
    return bundles


def _message(subject: str, bundle: list[tuple[str, bytes]]) -> Outgoing:
    if len(bundle) == 1:
        read_id, body = bundle[0]
        return Outgoing(subject, body, read_id)
    ids = "\n".join(read_id for read_id, _ in bundle)
    payload = b'{"reads":[' + b",".join(body for _, body in bundle) + b"]}"
    msg_id = "bundle-" + hashlib.sha256(ids.encode()).hexdigest()[:40]
    return Outgoing(subject, payload, msg_id, headers={BUNDLE_HEADER: str(len(bundle))}, count=len(bundle))


@dataclass(eq=False)
class _Waiting:
    """A single-read post's read, ready to send, and the post waiting on JetStream's ack of it."""

    subject: str
    read_id: str
    body: bytes
    # the post's own span: the bundle's publish links to it (it is no post's child)
    span: trace.SpanContext = field(default_factory=lambda: trace.get_current_span().get_span_context())
    acked: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class LoneReads:
    """Single-read posts published together while an agency's earlier publish waits on its ack.

    A read is published at once when no publish of its agency is in flight; otherwise it waits for that
    ack (about a millisecond) and goes in the next bundle with every read that arrived meanwhile, unless a
    full bundle is waiting, which goes at once (up to BUNDLES_IN_FLIGHT of an agency at a time). A bundle
    that is not full goes no sooner than `gap_s` after the agency's previous one: under load the ack alone
    gathered about 5 reads a message, and every message costs a flush, a stream write, an ack and a delivery. Each post
    still answers only once JetStream holds its read, and fails with its bundle (the camera retries it). A
    read alone keeps its own id as the message id, so a camera's resend is seen as a duplicate; a read
    resent inside a bundle of other posts is new to the stream, and records stores it once by its id.
    """

    def __init__(self, bus: Bus, *, gap_s: float = 0.0) -> None:
        self._bus = bus
        self._gap_s = gap_s
        self._last_sent: dict[str, float] = {}  # when the agency's latest bundle went (the loop's clock)
        self._queued: dict[str, list[_Waiting]] = {}
        self._queued_bytes: dict[str, int] = {}
        self._in_flight: dict[str, int] = {}  # an agency's publishes awaiting their acks and its gap wake-up
        self._gap_pending: set[str] = set()  # agencies whose gap wake-up is set (it holds one of their slots)
        self._tasks: set[asyncio.Task[None]] = set()

    async def publish(self, read: ReadIn) -> int:
        """Publish one read and wait until JetStream holds it; 1 when the stream held it already."""
        agency = read.agency
        subject, payload = reads_subject(agency, read.camera_id), read.model_dump_json().encode()
        _check_payload(self._bus, payload)
        if agency not in self._in_flight:
            # nothing of this agency waits on the bus: this read goes now, alone, in this post's own task
            self._in_flight[agency] = 1
            self._last_sent[agency] = asyncio.get_running_loop().time()
            try:
                return await _publish(self._bus, [Outgoing(subject, payload, read.read_id)])
            except Exception as exc:
                self._fail_queued(agency, exc)
                raise
            finally:
                self._next(agency)
        waiting = _Waiting(subject, read.read_id, payload)
        queued = self._queued.setdefault(agency, [])
        queued.append(waiting)
        self._queued_bytes[agency] = self._queued_bytes.get(agency, 0) + len(payload)
        if self._bundle_full(agency) and self._in_flight[agency] < BUNDLES_IN_FLIGHT:
            self._in_flight[agency] += 1
            self._send_next(agency)
        return int(await waiting.acked)

    def _bundle_full(self, agency: str) -> bool:
        """Whether the agency's queue fills a bundle, by its reads or its bytes: such a bundle goes at once."""
        return len(self._queued[agency]) >= BUNDLE_READS or self._queued_bytes[agency] >= BUNDLE_BYTES

    def _next(self, agency: str, *, gapped: bool = False) -> None:
        """One of the agency's publishes came back: send the next bundle of what queued meanwhile (a bundle not
        full waits out the gap on one wake-up per agency, counted in flight), or, the last one back with nothing
        queued, mark the agency idle."""
        if gapped:
            self._gap_pending.discard(agency)
        queued = self._queued.get(agency)
        if queued:
            loop = asyncio.get_running_loop()
            wait = self._last_sent.get(agency, 0.0) + self._gap_s - loop.time()
            if not gapped and wait > 0 and not self._bundle_full(agency):
                if agency in self._gap_pending:
                    # the wake-up set sends what queued: this slot comes free (a full bundle may take it at
                    # once) rather than waiting out the gap idle beside it; the wake-up's slot keeps it in flight
                    self._in_flight[agency] -= 1
                    return
                self._gap_pending.add(agency)
                loop.call_later(wait, lambda: self._next(agency, gapped=True))
                return
            self._send_next(agency)
            return
        self._in_flight[agency] -= 1
        if not self._in_flight[agency]:
            del self._in_flight[agency]
            self._queued.pop(agency, None)
            self._queued_bytes.pop(agency, None)
            self._last_sent.pop(agency, None)

    def _send_next(self, agency: str) -> None:
        """The first bundle of the agency's queue to JetStream, in a task of its own (counted in flight)."""
        queued = self._queued[agency]
        self._last_sent[agency] = asyncio.get_running_loop().time()
        bundle = _bounded([(w.read_id, w.body) for w in queued])[0]
        taken, self._queued[agency] = queued[: len(bundle)], queued[len(bundle) :]
        self._queued_bytes[agency] -= sum(len(w.body) for w in taken)
        # in a context of its own: inheriting the post that happened to come back first, the bundle (and every
        # bundle after it, under steady load) would be traced and logged as that post's, whose reads it lacks
        task = asyncio.create_task(self._send(agency, taken), context=contextvars.Context())
        self._tasks.add(task)  # held: the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _send(self, agency: str, taken: list[_Waiting]) -> None:
        """One bundle of queued reads to JetStream; each waiting post learns its outcome."""
        subject = _bundle_subject(agency, [w.subject for w in taken])
        try:
            links = [trace.Link(w.span) for w in taken if w.span.is_valid]
            held = await _publish(self._bus, [_message(subject, [(w.read_id, w.body) for w in taken])], links)
        except Exception as exc:
            _fail(taken, exc)
            self._fail_queued(agency, exc)
        else:
            for waiting in taken:
                if not waiting.acked.done():
                    waiting.acked.set_result(held > 0)
        finally:
            # cancelled (the process stopping): the posts were not, so each answers a retryable 503 in the one
            # envelope rather than a CancelledError no handler maps; the cameras retry
            _fail(taken, Unavailable("the read stream did not acknowledge; retry", code="bus_unavailable"))
            self._next(agency)

    def _fail_queued(self, agency: str, exc: Exception) -> None:
        """The bus refused or did not ack: what queued behind fails now too, rather than each bundle taking
        the publisher's retries in turn while its cameras wait (they retry their posts)."""
        _fail(self._queued.pop(agency, []), exc)
        self._queued_bytes.pop(agency, None)


def _fail(waiting: list[_Waiting], exc: Exception) -> None:
    for one in waiting:
        if not one.acked.done():  # a post whose camera went away no longer waits
            one.acked.set_exception(exc)


def _bundle_subject(agency: str, subjects: list[str]) -> str:
    """A bundle of one camera's reads travels on its camera's subject; of several, on its agency's (one
    token shorter than any camera's, so never taken for one)."""
    first = subjects[0]
    if all(s == first for s in subjects):
        return first
    return READS_INGESTED.of(first.split(".")[-2])
