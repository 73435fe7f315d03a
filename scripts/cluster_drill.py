"""Cluster drill (issue 31): reads posted through `alpr up --cluster` while its parts are killed and restarted.

Posts N reads (singles and batches of up to 1,000, unique read ids) through the gateway's port as the
development camera, while officer searches run (each writes an access record). Mid-posting it SIGKILLs one
NATS server, then one records replica, then an audit replica while a search's access record is being written;
each is held down a few seconds and then let back (the supervisor in `alpr up` restarts it, as the kubelet
would). A post answered 503 or 429, or whose connection failed, is sent again with the same read ids, as a
camera does. Then it waits for the consumers to drain, counts the reads in PostgreSQL (posted vs stored,
doubles by read id and by plate) and runs `alpr audit verify`, and prints one line on stdout:

    cluster drill: N posted, N stored, 0 lost, 0 doubled, audit verify ok

Progress goes to stderr. Exit code 1 if a read was lost or doubled or the verification failed.
With --data-dir naming a folder where `alpr up --cluster` runs, the drill uses that cluster; otherwise it
starts one there (a temporary folder by default) and stops it at the end.
Usage: python scripts/cluster_drill.py [--reads 50000] [--data-dir DIR] [--port 18380]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import nats
import psutil
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster_posting import Poster, drained, make_bodies, officer_searches, stored_counts

from services.cli.cluster.running import RunningCluster
from services.cli.dev_issuer import DevIssuer
from services.cli.seed import dev_sub

# the client port of the database session holding the audit chain's writer lock (services/audit/repository/chain.py)
WRITER_HOLDER = """
SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = 7215002 AND l.objsubid = 1
"""
OUTAGE_S = 3.0  # how long each killed process stays down while posts go on


def say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


async def faults(cluster: RunningCluster, poster: Poster) -> list[str]:
    """The three kills, each once its share of the reads has been sent; the posting waits for each kill.

    The NATS server killed is the one leading the READS stream then (the hardest one to lose: its stream
    elects a new leader while posts wait); the audit replica killed is the one caught holding the chain's
    writer lock, its transaction open, while the officers' searches go on.
    """
    done: list[str] = []
    nc = await nats.connect(servers=cluster.nats_urls, error_cb=_quiet)
    js = nc.jetstream()
    try:
        for gate, role in zip(poster.gates, ("nats", "records", "audit"), strict=True):
            await poster.reached(gate)
            if role == "nats":
                name, how = await _reads_leader(js), ", the READS leader"
            elif role == "records":
                name, how = "records-2", ""
            else:
                writing = await audit_writer_in_the_act(cluster)
                name = writing or "audit-1"
                how = " holding the chain's writer lock" if writing else ", no write caught in the act"
            pid = cluster.kill(name)
            poster.release(gate)
            unacked = await _unacknowledged_access_records(js)
            say(
                f"SIGKILL {name}{how} (pid {pid}); reads answered 202 so far: {poster.sent_reads}, access records "
                f"unacknowledged: {unacked}; held down {OUTAGE_S:.0f}s"
            )
            await asyncio.sleep(OUTAGE_S)
            back = await asyncio.to_thread(cluster.release, name, pid)
            say(f"{name} restarted and ready in {back:.1f}s")
            done.append(name)
    finally:
        await nc.close()
    return done


async def _quiet(exc: Exception) -> None:
    """The drill's own connection loses its server when that server is the one killed: it reconnects."""


async def _reads_leader(js: JetStreamContext) -> str:
    for _ in range(10):
        try:
            cluster = (await asyncio.wait_for(js.stream_info("READS"), 2)).cluster
            if cluster and cluster.leader:
                return cluster.leader
        except (NatsError, TimeoutError):
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("the READS stream has no leader")


async def _unacknowledged_access_records(js: JetStreamContext) -> str:
    try:
        return str((await js.consumer_info("AUDIT", "audit-writer", timeout=2)).num_ack_pending)
    except (NatsError, TimeoutError):
        return "unknown (the cluster is electing a leader)"


async def audit_writer_in_the_act(cluster: RunningCluster, *, timeout_s: float = 20) -> str | None:
    """The audit replica holding the chain's writer lock now (its transaction open, a record half-written).

    Found by the lock's backend in pg_locks, whose client port belongs to one replica's connection; None when
    no write was caught in `timeout_s` (the searches write about two records a second).
    """
    pids = {cluster.pid(name): name for name in ("audit-1", "audit-2")}
    conn = await asyncpg.connect(cluster.admin_dsn)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            port = await conn.fetchval(WRITER_HOLDER)
            if port is not None:
                for pid, name in pids.items():
                    if any(c.laddr.port == port for c in psutil.Process(pid).net_connections("tcp")):
                        return name
            await asyncio.sleep(0.002)
    finally:
        await conn.close()
    return None


async def audit_verify(cluster: RunningCluster) -> tuple[bool, str]:
    """`alpr audit verify` with the cluster's signing key, its audit database role and its AUDIT stream."""
    port = cluster.layout["postgres_port"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli.main",
        "audit",
        "verify",
        "--database-url",
        f"postgresql+asyncpg://alpr_audit@127.0.0.1:{port}/alpr",
        "--signing-key-file",
        str(cluster.data_dir / "audit-signing.key"),
        "--nats-url",
        cluster.nats_urls[0],
        env={**os.environ, "ALPR_DATA_DIR": str(cluster.data_dir)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await proc.communicate()
    return proc.returncode == 0, output.decode(errors="replace")


async def drill(cluster: RunningCluster, total: int) -> bool:
    tag = uuid.uuid4().hex[:4].upper()
    bodies = make_bodies(total, tag, datetime.now(UTC), random.Random(total))
    camera = (cluster.data_dir / "dev-camera.credential").read_text().strip()
    poster = Poster(cluster.gateway_url, camera, bodies, gates=(0.2, 0.45, 0.7))
    officer = DevIssuer(cluster.data_dir / "dev-issuer").mint(dev_sub("officer"))
    stop_searching = asyncio.Event()
    say(f"posting {total} reads (tag {tag}) in {len(bodies)} posts through {cluster.gateway_url}")
    started = time.monotonic()
    searches = asyncio.create_task(officer_searches(cluster.gateway_url, officer, tag, stop_searching))
    killed, _ = await asyncio.gather(faults(cluster, poster), poster.run())
    stop_searching.set()
    search_tally = await searches
    say(
        f"posted in {time.monotonic() - started:.1f}s: {poster.tally}; searches {search_tally}; killed {killed}; "
        f"supervisor: {' | '.join(cluster.supervisor_lines()) or '-'}"
    )
    await drained(cluster, expected=total, tag=tag, say=say)
    rows, by_read_id, by_plate = await stored_counts(cluster.admin_dsn, tag)
    stored = by_plate
    lost = total - stored
    doubled = max(rows - by_read_id, rows - by_plate)
    ok_verify, report = await audit_verify(cluster)
    if not ok_verify:
        say(f"alpr audit verify failed:\n{report[-3000:]}")
    say(f"done in {time.monotonic() - started:.1f}s")
    verdict = "audit verify ok" if ok_verify else "audit verify FAILED"
    print(f"cluster drill: {total} posted, {stored} stored, {lost} lost, {doubled} doubled, {verdict}", flush=True)
    if search_tally["200"] == 0:  # no access record was written: the audit kill proved nothing
        say("no officer search was answered 200: the drill did not exercise the audit writers")
    return lost == 0 and doubled == 0 and ok_verify and poster.tally["rejected"] == 0 and search_tally["200"] > 0


def main() -> int:
    cli = argparse.ArgumentParser(description="Cluster drill against `alpr up --cluster` (issue 31)")
    cli.add_argument("--reads", type=int, default=50_000, help="reads to post (default 50,000)")
    cli.add_argument("--data-dir", type=Path, default=None, help="a running cluster's folder, or where to start one")
    cli.add_argument("--port", type=int, default=18380, help="the gateway port of a cluster the drill starts")
    args = cli.parse_args()
    if args.reads < 10:
        cli.error("--reads must be at least 10")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="alpr-cluster-drill-"))
    data_dir.mkdir(parents=True, exist_ok=True)  # a folder named for a cluster still to start may not exist yet
    data_dir.chmod(0o755)  # the postgres system user enters it
    cluster = RunningCluster.found(data_dir)
    started_here = cluster is None
    if cluster is None:
        say(f"starting alpr up --cluster in {data_dir} (its output: {data_dir / 'up.log'})")
        cluster = RunningCluster.start(data_dir, port=args.port, log=data_dir / "up.log")
        say(f"cluster up: gateway {cluster.gateway_url}")
    try:
        return 0 if asyncio.run(drill(cluster, args.reads)) else 1
    finally:
        if started_here:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
