"""JetStream streams and durable consumers, declared as code and applied by `alpr migrate`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from libs.common.endpoint import StreamSubject

DAY_S = 86_400.0

# Every JetStream subject family, declared once: the streams below capture `pattern`, publishers build
# concrete subjects with the builders at the foot of this module, consumers filter on `pattern`.
READS_INGESTED = StreamSubject("READS", "alpr.reads.ingested")  # .<agency>.<camera>
AUDIT_EVENTS = StreamSubject("AUDIT", "alpr.audit.event")  # .<event type>
AGENCY_ALERTS = StreamSubject("ALERTS", "alpr.alerts")  # .<agency>
DEAD_LETTERS = StreamSubject("DEADLETTER", "alpr.deadletter")  # .<stream>.<consumer>
FRAMES_INGESTED = StreamSubject("FRAMES", "alpr.frames.ingested")  # .<agency>.<camera>: photographs to read
# The NATS servers' file store (max_file_store in nats.conf, ALPR_NATS_FILE_STORE_BYTES for `alpr migrate`)
# is shared by every stream. Each stream but AUDIT is capped at a share of it, so a long records outage fills
# READS, not the store: AUDIT keeps at least the rest, and data access (which waits on AUDIT's ack) goes on
# while camera posts are refused and retried. JetStream reserves a cap, so the caps must fit the store.
STORE_SHARES = {"READS": 1 / 3, "FRAMES": 1 / 18, "ALERTS": 1 / 18, "DEADLETTER": 1 / 18}

READS = StreamConfig(
    name=READS_INGESTED.stream,
    subjects=[READS_INGESTED.pattern],
    storage=StorageType.FILE,
    retention=RetentionPolicy.LIMITS,
    # a transport buffer, not an archive: records keeps reads, the stream only carries them
    max_age=7 * DAY_S,
    duplicate_window=15 * 60.0,
    # full: the gateway's publish is refused and the camera's post answered 503 (it retries), rather than
    # the oldest reads records has not stored yet being dropped
    discard=DiscardPolicy.NEW,
)

AUDIT = StreamConfig(
    name=AUDIT_EVENTS.stream,
    subjects=[AUDIT_EVENTS.pattern],
    storage=StorageType.FILE,
    retention=RetentionPolicy.LIMITS,
    max_age=30 * DAY_S,
    duplicate_window=15 * 60.0,
    deny_delete=True,
    deny_purge=True,
    # a full audit stream must refuse new events (so data access fails closed), never drop old ones
    discard=DiscardPolicy.NEW,
)

ALERTS = StreamConfig(
    name=AGENCY_ALERTS.stream,
    subjects=[AGENCY_ALERTS.pattern],
    storage=StorageType.FILE,
    retention=RetentionPolicy.LIMITS,
    max_age=2 * DAY_S,
    duplicate_window=5 * 60.0,
)

# Messages a consumer could not handle after its bounded deliveries, kept for an operator (`alpr deadletter`).
# A read is personal data: it stays here no longer than it would wait in READS plus a week to be seen.
DEADLETTER = StreamConfig(
    name=DEAD_LETTERS.stream,
    subjects=[DEAD_LETTERS.pattern],
    storage=StorageType.FILE,
    retention=RetentionPolicy.LIMITS,
    max_age=14 * DAY_S,
    # full: setting a message aside fails and it stays with its consumer, never an older one dropped unseen
    discard=DiscardPolicy.NEW,
)

# Photographs posted without a read (`POST /v1/ingest/image`), waiting for records to have them found and read.
# Larger than reads (a whole frame each), so a day's buffer and a share of the store of their own: a long
# outage refuses new frames (503, the camera retries) before it could crowd out READS or AUDIT.
FRAMES = StreamConfig(
    name=FRAMES_INGESTED.stream,
    subjects=[FRAMES_INGESTED.pattern],
    storage=StorageType.FILE,
    retention=RetentionPolicy.LIMITS,
    max_age=DAY_S,
    duplicate_window=15 * 60.0,  # a camera's resend of the same photograph (same frame id) is held once
    discard=DiscardPolicy.NEW,
)

STREAMS = (READS, AUDIT, ALERTS, DEADLETTER, FRAMES)


def capped(config: StreamConfig, file_store_bytes: int | None) -> StreamConfig:
    """The stream with its `max_bytes` share of the servers' file store; unchanged where the store is not
    known (a development server whose store is the disk) or for AUDIT, which takes what the others leave."""
    share = STORE_SHARES.get(config.name or "")
    if file_store_bytes is None or share is None:
        return config
    return dataclasses.replace(config, max_bytes=int(file_store_bytes * share))


@dataclass(frozen=True)
class DurableConsumer:
    stream: str
    config: ConsumerConfig


RECORDS_READS = DurableConsumer(
    READS_INGESTED.stream,
    ConsumerConfig(
        durable_name="records-reads",
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        # a message that fails alone this many times is dead-lettered (BatchConsumer), so one bad read
        # cannot be redelivered forever; a database outage holds its batch in place and spends none of them
        max_deliver=8,
        # redeliveries of a batch whose consumer died (ack_wait expired); the first is ack_wait itself,
        # since JetStream takes the first step as the ack wait
        backoff=[30.0, 60.0, 120.0, 300.0],
        max_ack_pending=20_000,
    ),
)

AUDIT_WRITER = DurableConsumer(
    AUDIT_EVENTS.stream,
    ConsumerConfig(
        durable_name="audit-writer",
        # Explicit, not AckAll: a batch delivered to a writer that stopped before committing it stays
        # pending, and with AckAll the next writer's ack of any later message would ack it unwritten.
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        # never bounded: an access record is never dead-lettered; the writer stores what it cannot store as
        # sent with the offending characters escaped (services/audit/service.py), so nothing wedges it
        max_deliver=-1,
        max_ack_pending=20_000,
    ),
)

RECORDS_FRAMES = DurableConsumer(
    FRAMES_INGESTED.stream,
    ConsumerConfig(
        durable_name="records-frames",
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        # finding and reading the plates of a frame takes tens of milliseconds, a batch of them seconds
        ack_wait=60.0,
        max_deliver=8,  # then dead-lettered with its origin, as a read is
        backoff=[60.0, 120.0, 300.0],
        max_ack_pending=256,  # frames are heavy: a small window keeps a backlog in the stream, not in memory
    ),
)

CONSUMERS = (RECORDS_READS, AUDIT_WRITER, RECORDS_FRAMES)


# cached: a camera's subject is built for each of its reads, on the gateway's busiest path
@lru_cache(maxsize=4096)
def reads_subject(agency: str, camera_id: str) -> str:
    """Subject a read travels on; tokens are sanitized so a camera id cannot inject wildcards."""
    return READS_INGESTED.of(_token(agency), _token(camera_id))


@lru_cache(maxsize=256)
def audit_subject(event_type: str) -> str:
    """Subject an access record travels on, by its event type."""
    return AUDIT_EVENTS.of(_token(event_type))


@lru_cache(maxsize=1024)
def alerts_subject(agency: str) -> str:
    """Subject an alert travels on: its agency's, which that agency's officers follow."""
    return AGENCY_ALERTS.of(_token(agency))


def frames_subject(agency: str, camera_id: str) -> str:
    """Subject a posted photograph travels on; tokens sanitized as for reads."""
    return FRAMES_INGESTED.of(_token(agency), _token(camera_id))


def deadletter_subject(stream: str, durable: str) -> str:
    """Where a message that `durable` on `stream` could not handle is kept: the subject names its origin."""
    return DEAD_LETTERS.of(_token(stream), _token(durable))


def _token(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value) or "_"
