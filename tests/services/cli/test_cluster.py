"""`alpr up --cluster` as an operator runs it: three NATS servers in one cluster, streams at replication 3, two
ready replicas of gateway, records and audit, a read posted through the gateway's port stored, a dead gateway
replica skipped by the proxy, and Ctrl-C leaving no process behind.

Budget: about a minute (the cluster starts once for the module: about 25 s here, up to 5 min allowed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest

from services.cli.cluster.running import RunningCluster
from services.cli.cluster.up import SERVICE_REPLICAS
from services.cli.embedded import free_port

SCALED = ("gateway", "records", "audit")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RunningCluster]:
    folder = Path(tempfile.mkdtemp(prefix="alpr-cluster-test-"))
    folder.chmod(0o755)  # the postgres system user enters it
    running = RunningCluster.start(folder, port=free_port(), log=folder / "up.log")
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _replica_names() -> list[str]:
    return [f"{service}-{n}" for service, count in SERVICE_REPLICAS.items() for n in range(1, count + 1)]


async def _streams(urls: list[str]) -> dict[str, tuple[int, int, bool]]:
    """Each stream's configured replicas, its peers besides the leader, and whether all peers are current."""
    nc = await nats.connect(servers=urls)
    try:
        js = nc.jetstream()
        found = {}
        for name in ("READS", "AUDIT", "ALERTS", "DEADLETTER", "FRAMES"):
            info = await js.stream_info(name)
            peers = info.cluster.replicas or [] if info.cluster else []
            found[name] = (info.config.num_replicas or 0, len(peers), all(p.current for p in peers))
        return found
    finally:
        await nc.close()


async def _stored(dsn: str, plate: str, timeout_s: float = 30) -> int:
    deadline = time.monotonic() + timeout_s
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            count = int(await conn.fetchval("SELECT count(*) FROM records.reads WHERE plate = $1", plate))
            if count or time.monotonic() > deadline:
                return count
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def _post_read(cluster: RunningCluster, plate: str) -> httpx.Response:
    camera = (cluster.data_dir / "dev-camera.credential").read_text().strip()
    body = {"plate": plate, "captured_at": datetime.now(UTC).isoformat(), "read_id": plate, "confidence": 0.9}
    # a fresh connection each time, so the proxy picks a replica each time
    return httpx.post(f"{cluster.gateway_url}/v1/reads", json=body, headers={"Authorization": f"Bearer {camera}"})


class TestClusterUp:
    def test_three_nats_servers_route_to_each_other_as_one_cluster(self, cluster: RunningCluster) -> None:
        seen = []
        for port in cluster.layout["nats_monitor_ports"]:
            varz = httpx.get(f"http://127.0.0.1:{port}/varz", timeout=5).json()
            routez = httpx.get(f"http://127.0.0.1:{port}/routez", timeout=5).json()
            assert varz["cluster"]["name"] == "alpr"
            assert {route["remote_name"] for route in routez["routes"]} == {"nats-0", "nats-1", "nats-2"} - {
                varz["server_name"]
            }
            seen.append(varz["server_name"])
        assert sorted(seen) == ["nats-0", "nats-1", "nats-2"]

    def test_each_nats_node_runs_with_one_go_thread(self, cluster: RunningCluster) -> None:
        # three servers on a shared machine: Go's idle threads spinning at each message cost CPU (embedded.py)
        for name in ["nats-0", "nats-1", "nats-2"]:
            environ = Path(f"/proc/{cluster.pid(name)}/environ").read_bytes().split(b"\0")
            assert f"GOMAXPROCS={os.environ.get('GOMAXPROCS', '1')}".encode() in environ, name

    def test_every_stream_has_three_current_replicas(self, cluster: RunningCluster) -> None:
        streams = asyncio.run(_streams(cluster.nats_urls))
        assert streams and all(value == (3, 2, True) for value in streams.values()), streams

    def test_two_replicas_each_of_gateway_records_and_audit_answer_readyz(self, cluster: RunningCluster) -> None:
        names = _replica_names()
        for service in SCALED:
            assert [n for n in names if n.startswith(f"{service}-")] == [f"{service}-1", f"{service}-2"]
        pids = set()
        for name in names:
            port = cluster.port(name)
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200, name
            pid = cluster.pid(name)
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            assert command[-3:] == [b"serve", name.split("-")[0].encode(), b""], command
            pids.add(pid)
        assert len(pids) == len(names)  # each replica its own process

    def test_every_service_is_given_all_three_nats_servers(self, cluster: RunningCluster) -> None:
        for name in _replica_names():
            environ = Path(f"/proc/{cluster.pid(name)}/environ").read_bytes().split(b"\0")
            url = next(v for v in environ if v.startswith(b"ALPR_NATS_URL=")).decode().split("=", 1)[1]
            assert url.split(",") == cluster.nats_urls, name

    def test_a_read_posted_through_the_gateway_port_is_stored(self, cluster: RunningCluster) -> None:
        answer = _post_read(cluster, "7CLU001")
        assert answer.status_code == 202, answer.text
        assert asyncio.run(_stored(cluster.admin_dsn, "7CLU001")) == 1

    def test_the_proxy_skips_a_gateway_replica_that_refuses(self, cluster: RunningCluster) -> None:
        killed = cluster.kill("gateway-1")
        try:
            answers = [_post_read(cluster, f"7CLU1{i:02d}").status_code for i in range(6)]
        finally:
            cluster.release("gateway-1", killed)
        assert answers == [202] * 6
        assert [asyncio.run(_stored(cluster.admin_dsn, f"7CLU1{i:02d}")) for i in range(6)] == [1] * 6

    def test_ctrl_c_stops_every_process_it_started(self, cluster: RunningCluster) -> None:
        """Last in the module: it stops the cluster the others used."""
        pids = [cluster.pid(name) for name in ["nats-0", "nats-1", "nats-2", *_replica_names()]]
        cluster.stop()
        assert cluster.proc is not None and cluster.proc.returncode == 0
        alive = [pid for pid in pids if _alive(pid)]
        assert alive == []
        assert list((cluster.data_dir / "run").glob("*.pid")) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
