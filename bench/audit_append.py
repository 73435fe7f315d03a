"""Benchmark of the audit writer: events through the AUDIT stream into PostgreSQL, chained and checkpointed.

Starts an embedded PostgreSQL and NATS (services.cli.stack), runs the real writer (BatchConsumer on the
durable `audit-writer`, AuditWriter.write_batch) over N events published to AUDIT, and reports the
rate of publishing, then the writer's sustained rate draining that backlog; then verifies the chain.

Run: .venv/bin/python bench/audit_append.py [--n 50000] [--publishers 256] [--batch 500] [--loop uvloop|asyncio]

The writer runs on uvloop by default, as under `alpr serve audit` (uvicorn picks uvloop when installed).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import uvloop

from libs.common.bus import Bus
from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.db import UnitOfWork, create_engine
from libs.common.streams import audit_subject
from services.audit.flows import AuditWriter, writer_consumer
from services.audit.ledger.checkpoints import load_signing_key
from services.audit.settings import AuditSettings
from services.audit.verification import verify_database
from services.cli.stack import LocalStack

PURPOSE = Purpose(
    use=AuthorizedUse.STOLEN_OR_WANTED_VEHICLE, case_number="SJ-2026-004211", reason="Stolen vehicle follow-up"
)


def event(i: int) -> AuditEvent:
    actor = Actor(sub=f"oidc|{i % 200:04d}", name=f"Officer {i % 200}", badge=f"B{i % 200:05d}", agency="CA0430000")
    return AuditEvent(
        event_type=EventType.SEARCH,
        actor=actor,
        purpose=PURPOSE,
        client_address="10.20.30.40",
        query={"plate": f"7ABC{i % 1000:03d}", "match": "exact"},
        result_count=2,
        result_ids=[f"r{i}-1", f"r{i}-2"],
    )


async def publish(bus: Bus, events: list[AuditEvent], publishers: int) -> None:
    """Publish with `publishers` acks in flight, as many gateway requests would."""
    queue: asyncio.Queue[AuditEvent] = asyncio.Queue()
    for e in events:
        queue.put_nowait(e)

    async def worker() -> None:
        while not queue.empty():
            e = queue.get_nowait()
            await bus.publish_durable(
                audit_subject(e.event_type.value), e.model_dump_json().encode(), msg_id=e.event_id
            )

    await asyncio.gather(*(worker() for _ in range(publishers)))


async def run(stack: LocalStack, n: int, publishers: int, batch: int) -> None:
    """Publish the backlog, drain it with the writer, verify what it wrote."""
    await stack.prepare()
    env = stack.env_for("audit", http_port=0)
    settings = AuditSettings.model_validate(
        {**{k.removeprefix("ALPR_").lower(): v for k, v in env.items()}, "writer_batch": batch}
    )
    engine = create_engine(settings.database_url.get_secret_value(), schema="audit")
    bus = await Bus.connect(settings.nats_url, name="bench-audit")
    writer = AuditWriter(settings, UnitOfWork(engine), bus)
    await writer.load_tree()
    events = [event(i) for i in range(n)]
    conn = await asyncpg.connect(stack.pg.admin_dsn)
    started = time.perf_counter()
    await publish(bus, events, publishers)
    published = time.perf_counter() - started
    del events
    gc.collect()  # the published events are garbage now; they must not slow the writer's collections
    print(f"published {n} events to AUDIT in {published:.2f} s ({n / published:,.0f}/s, {publishers} in flight)")
    # the writer on its own: the stream holds a backlog, as after an outage or a burst
    consumer = writer_consumer(bus, writer, batch=settings.writer_batch)
    started, cpu = time.perf_counter(), time.process_time()
    consumer.start()
    # max(seq) reads the index end: polling must not take CPU from the writer and PostgreSQL
    while (stored := await conn.fetchval("SELECT coalesce(max(seq), 0) FROM audit.access_records")) < n:
        await asyncio.sleep(0.05)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    await consumer.stop()
    checkpoints = await conn.fetchval("SELECT count(*) FROM audit.checkpoints")
    await conn.close()
    print(
        f"writer stored {stored} records in {elapsed:.2f} s: {stored / elapsed:,.0f} records/s sustained "
        f"(batches of {settings.writer_batch}, chained, checkpoints signed: {checkpoints})"
    )
    # on a shared machine the wall rate depends on the neighbours; the writer's own CPU cost does not
    print(
        f"writer process CPU: {cpu / stored * 1e6:.0f} us/record ({stored / cpu:,.0f} records per CPU-second, "
        f"PostgreSQL's share not included); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    key = load_signing_key(stack.audit_signing_key()).public_key()
    began = time.perf_counter()
    report = await verify_database(stack.pg.admin_dsn, public_keys=[key])
    took = time.perf_counter() - began
    print(
        f"verify: ok={report['ok']} records={report['records_checked']} "
        f"checkpoints={report['checkpoints_checked']} in {took:.2f} s"
    )
    await bus.close()
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--publishers", type=int, default=256)
    parser.add_argument("--batch", type=int, default=AuditSettings.model_fields["writer_batch"].default)
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="uvloop is what `alpr serve` runs under"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
    folder.chmod(0o755)
    stack = LocalStack(folder, durable=False)
    stack.start_infrastructure()
    try:
        main = run(stack, args.n, args.publishers, args.batch)
        uvloop.run(main) if args.loop == "uvloop" else asyncio.run(main)
    finally:
        stack.stop_infrastructure()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
