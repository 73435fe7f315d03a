"""Alert latency: camera post → alert on the ALERTS stream, with N active entries and R reads a second.

Starts embedded PostgreSQL and NATS and the audit, records and gateway services in this process (as the
tests do), loads N hotlist entries, posts reads through the gateway at a steady rate (one read in
`1/hit_every` is listed), and prints the p50/p99 from the start of the post to the alert's arrival on
the stream, plus the share of records' ingest time spent matching.

Run: `python bench/alerts_latency.py [--entries 1000000] [--rate 1000] [--seconds 20] [--batch 1] [--hit-every 50]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import string
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
import nats
from nats.js.api import DeliverPolicy

from libs.common.contracts.alerts import AlertMessage
from libs.common.streams import AGENCY_ALERTS
from services.cli.stack import LocalStack
from services.records.flows import IngestFlow

CHARS = string.ascii_uppercase + string.digits


def plate(rng: random.Random) -> str:
    return "".join(rng.choices(CHARS, k=7))


async def load_entries(dsn: str, count: int, rng: random.Random) -> list[str]:
    """One NCIC list of `count` active entries, copied straight into the table; returns a sample of plates."""
    now = datetime.now(UTC)
    hotlist_id = uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO records.hotlists (hotlist_id, name, source, refreshed_at) VALUES ($1, 'bench', 'ncic', $2)",
            hotlist_id,
            now,
        )
        sample: list[str] = []
        rows = []
        for number in range(count):
            text = plate(rng)
            if number % 100 == 0:
                sample.append(text)
            rows.append((hotlist_id, "ncic", text, "CA", 50, now, now, now + timedelta(days=7)))
        await conn.copy_records_to_table(
            "hotlist_entries",
            schema_name="records",
            records=rows,
            columns=["hotlist_id", "source", "plate", "state", "priority", "entered_at", "refreshed_at", "expires_at"],
        )
    finally:
        await conn.close()
    return sample


def time_ingest(totals: dict[str, float]) -> None:
    """Wrap records' batch handler (before the app starts) to add up the time it spends."""
    original = IngestFlow.ingest_batch

    @wraps(original)
    async def timed(self: IngestFlow, msgs: list[Any], **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            await original(self, msgs, **kwargs)
        finally:
            totals["ingest_s"] += time.perf_counter() - started
            totals["reads"] += len(msgs)

    IngestFlow.ingest_batch = timed  # type: ignore[method-assign]


async def run(args: argparse.Namespace, folder: Path) -> None:
    rng = random.Random(args.seed)
    stack = LocalStack(folder, durable=False)
    stack.start_infrastructure()
    exits = AsyncExitStack()
    try:
        await stack.prepare()
        started = time.perf_counter()
        listed = await load_entries(stack.pg.admin_dsn, args.entries, rng)
        print(f"entries: {args.entries:,} loaded into PostgreSQL in {time.perf_counter() - started:.1f} s")

        totals = {"ingest_s": 0.0, "reads": 0.0}
        time_ingest(totals)
        apps = build_apps(stack)
        for name in ("audit", "records", "gateway"):
            began = time.perf_counter()
            await exits.enter_async_context(apps[name].router.lifespan_context(apps[name]))
            if name == "records":
                index = apps["records"].state.runtime.hotlists.index
                print(f"records start-up with index load: {time.perf_counter() - began:.1f} s ({len(index):,} entries)")
        raiser = apps["records"].state.runtime.ingest.alerts

        posted_at: dict[str, float] = {}
        latencies: list[float] = []
        nc = await nats.connect(stack.nats.url)
        exits.push_async_callback(nc.close)

        async def on_alert(msg: Any) -> None:
            alert = AlertMessage.model_validate_json(msg.data)
            sent = posted_at.get(alert.read_id)
            if sent is not None:
                latencies.append(time.perf_counter() - sent)

        await nc.jetstream().subscribe(
            AGENCY_ALERTS.pattern, cb=on_alert, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
        )
        transport = httpx.ASGITransport(app=apps["gateway"])
        client = httpx.AsyncClient(transport=transport, base_url="http://gateway")
        headers = {"Authorization": f"Bearer {stack.camera_credential}"}
        hits_sent = 0
        refused = 0

        # cameras post on their own connections: a bounded number in flight, like a fleet of them
        in_flight = asyncio.Semaphore(args.concurrency)

        async def post(reads: list[dict[str, Any]], at: float) -> None:
            nonlocal refused
            body = reads[0] if len(reads) == 1 else {"reads": reads}
            async with in_flight:
                response = await client.post("/v1/reads", json=body, headers=headers)
            if response.status_code != 202:
                refused += len(reads)
                return
            for read_id in response.json()["read_ids"]:
                posted_at[read_id] = at

        warm = {"plate": plate(rng), "captured_at": datetime.now(UTC).isoformat()}
        assert (await client.post("/v1/reads", json=warm, headers=headers)).status_code == 202  # camera cache
        batches = int(args.rate * args.seconds / args.batch)
        interval = args.batch / args.rate
        tasks = []
        ingest_before, match_before = totals["ingest_s"], raiser.match_seconds
        begin = time.perf_counter()
        for number in range(batches):
            due = begin + number * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            reads = []
            for _ in range(args.batch):
                hit = rng.randrange(args.hit_every) == 0
                hits_sent += hit
                text = rng.choice(listed) if hit else plate(rng)
                reads.append(
                    {"plate": text, "state": "CA", "captured_at": datetime.now(UTC).isoformat(), "confidence": 0.9}
                )
            # timed from when the post was due, so a sender falling behind counts against the figure
            tasks.append(asyncio.create_task(post(reads, due)))
        await asyncio.gather(*tasks)
        posting_s = time.perf_counter() - begin
        deadline = time.perf_counter() + 30
        while len(latencies) < hits_sent - refused and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        await client.aclose()

        sent = batches * args.batch
        print(
            f"reads posted: {sent:,} in {posting_s:.1f} s ({sent / posting_s:,.0f}/s, offered {args.rate:,}/s), "
            f"{args.batch} per post"
        )
        print(f"refused posts: {refused}; hits sent: {hits_sent}; alerts received: {len(latencies)}")
        if latencies:
            latencies.sort()
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[min(int(len(latencies) * 0.99), len(latencies) - 1)]
            print(
                f"post → alert on stream: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
                f"max {latencies[-1] * 1000:.0f} ms"
            )
        ingest_s = totals["ingest_s"] - ingest_before
        match_s = raiser.match_seconds - match_before
        if ingest_s:
            print(f"records ingest handler: {ingest_s:.2f} s busy for {int(totals['reads']):,} reads")
            print(f"matching: {match_s * 1000:.0f} ms = {100 * match_s / ingest_s:.1f}% of ingest handler time")
    finally:
        await exits.aclose()
        stack.stop_infrastructure()


def build_apps(stack: LocalStack) -> dict[str, Any]:
    """The three services an alert passes through, configured as `alpr up` configures them."""
    from services.audit.app import create_app as audit_app
    from services.audit.settings import AuditSettings
    from services.gateway.app import create_app as gateway_app
    from services.gateway.settings import GatewaySettings
    from services.records.app import create_app as records_app
    from services.records.settings import RecordsSettings

    factories: dict[str, Any] = {
        "audit": (audit_app, AuditSettings),
        "records": (records_app, RecordsSettings),
        "gateway": (gateway_app, GatewaySettings),
    }
    apps = {}
    for name, (factory, settings_cls) in factories.items():
        env = {**stack.env_for(name, http_port=0), "ALPR_ENVIRONMENT": "test"}
        apps[name] = factory(settings_cls(**{k.removeprefix("ALPR_").lower(): v for k, v in env.items()}))
    return apps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000, help="reads per second offered")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--batch", type=int, default=1, help="reads per post")
    parser.add_argument("--hit-every", type=int, default=50, help="one read in N is a listed plate")
    parser.add_argument("--concurrency", type=int, default=64, help="posts in flight at most")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("ALPR_LOG_LEVEL", "WARNING")
    # not under /tmp's private test roots: the postgres system user must enter the folder
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
    folder.chmod(0o755)
    try:
        asyncio.run(run(args, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
