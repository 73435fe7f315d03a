"""`alpr up --cluster`: start the cluster in the foreground, restart what dies, stop everything on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

from services.cli.cluster.nodes import NatsCluster, wait_for_jetstream
from services.cli.cluster.proxy import RoundRobinProxy
from services.cli.cluster.replicas import Replica, service_command, service_env
from services.cli.embedded import _wait_for_port, free_port, nats_environment
from services.cli.log_echo import LogEcho
from services.cli.seed import seed_development
from services.cli.stack import DEV_AGENCY, LocalStack, migrate
from services.cli.up import port_or_free, print_welcome, wait_ready

STREAM_REPLICAS = 3  # deploy/k8s/base/config.env's ALPR_NATS_STREAM_REPLICAS
# replicas per service; deploy/k8s/base/services/*.yaml and docs/operations.md ("alpr up --cluster") map them
SERVICE_REPLICAS = {"audit": 2, "records": 2, "recognizer": 1, "sharing": 1, "gateway": 2}


def plan_services(stack: LocalStack, nats_urls: list[str], *, log_format: str, gateway_workers: int) -> list[Replica]:
    """Every service replica with its own port, log and pid file; all of them get all three NATS servers."""
    logs, run = stack.data_dir / "logs", stack.data_dir / "run"
    replicas = []
    for service, count in SERVICE_REPLICAS.items():
        for n in range(1, count + 1):
            port = free_port()
            base = stack.env_for(service, http_port=port)
            base["ALPR_NATS_URL"] = ",".join(nats_urls)
            if service == "gateway":  # each replica limits alone at 1/this while the shared buckets are away
                base["ALPR_RATE_EXPECTED_REPLICAS"] = str(count)
            env = service_env(base, log_format=log_format, gateway_workers=gateway_workers, service=service)
            name = f"{service}-{n}"
            replicas.append(Replica(name, service_command(service), env, logs / f"{name}.log", run, port))
    return replicas


def run_up_cluster(
    data_dir: Path,
    *,
    gateway_port: int,
    gateway_workers: int = 1,
    log_format: str = "json",
    echo_level: str | None = "warning",
) -> None:
    """The cluster in the foreground until SIGINT or SIGTERM; what it ran is in `run/cluster.json`."""
    stack = LocalStack(data_dir)
    cluster = NatsCluster(stack.data_dir / "nats-cluster")
    logs, run = stack.data_dir / "logs", stack.data_dir / "run"
    logs.mkdir(exist_ok=True)
    run.mkdir(exist_ok=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    nodes = [
        Replica(
            node.name, cluster.command(node), nats_environment({}), logs / f"{node.name}.log", run, node.client_port
        )
        for node in cluster.nodes
    ]
    services: list[Replica] = []
    proxy: RoundRobinProxy | None = None
    try:
        print(f"starting PostgreSQL and a three-server NATS cluster in {stack.data_dir} ...", flush=True)
        stack.pg.start()
        cluster.write_configs()
        for node in nodes:
            node.start()
        for node in nodes:
            assert node.proc is not None
            _wait_for_port(node.port, node.proc, node.name, node.log)
        applied = asyncio.run(_prepare(stack, cluster.urls))
        print(
            f"migrations: {len(applied)} applied (PostgreSQL :{stack.pg.port}, NATS cluster "
            f"{' '.join(u.removeprefix('nats://127.0.0.1') for u in cluster.urls)}, streams at replication "
            f"{STREAM_REPLICAS})",
            flush=True,
        )
        services = plan_services(stack, cluster.urls, log_format=log_format, gateway_workers=gateway_workers)
        for replica in services:
            replica.start()
        for replica in services:
            assert replica.proc is not None
            wait_ready(replica.name, replica.port, replica.proc)
        gateways = [r.port for r in services if r.name.startswith("gateway-")]
        proxy = RoundRobinProxy(port_or_free(gateway_port), gateways)
        proxy.start()
        _write_layout(run / "cluster.json", stack, cluster, nodes + services, proxy.port)
        print_welcome(stack, proxy.port)
        print(f"Cluster: {len(nodes)} NATS servers, replicas {_replica_counts()}; ports in {run / 'cluster.json'}")
        everyone = nodes + services
        files = {r.name: r.log for r in services}
        echo = LogEcho(files, sys.stdout, min_level=echo_level) if echo_level and log_format == "json" else None
        while not stopping:
            if echo is not None:
                echo.poll()
            for replica in everyone:
                if line := replica.restart_if_due():
                    print(line, flush=True)
            time.sleep(0.2)
    finally:
        print("\nstopping the cluster ...", flush=True)
        if proxy is not None:
            proxy.stop()
        for group in (services, nodes):  # services first: they drain their work into NATS and PostgreSQL
            for replica in group:
                replica.terminate()
            for replica in group:
                replica.wait_stopped()
        stack.pg.stop()
        (run / "cluster.json").unlink(missing_ok=True)
        print("stopped.", flush=True)


async def _prepare(stack: LocalStack, urls: list[str]) -> list[str]:
    """Schemas, and streams at replication 3 once the cluster has a leader; keys and the development seed."""
    await wait_for_jetstream(urls)
    # the servers' store is the disk here: no caps, as on the one-server stack
    migration = await migrate(stack.pg.admin_dsn, urls[0], stream_replicas=STREAM_REPLICAS, file_store_bytes=None)
    migration.report_audit(sys.stdout)
    stack.issuer.ensure_keys()
    stack.camera_credential = await seed_development(stack.pg.admin_dsn, stack.data_dir, agency=DEV_AGENCY)
    return migration.applied


def _replica_counts() -> str:
    return ", ".join(f"{service} {count}" for service, count in SERVICE_REPLICAS.items())


def _write_layout(path: Path, stack: LocalStack, cluster: NatsCluster, replicas: list[Replica], proxy: int) -> None:
    """Where everything listens, for the drill and the tests (the pids are in the pid files beside it)."""
    layout = {
        "gateway_url": f"http://127.0.0.1:{proxy}",
        "postgres_port": stack.pg.port,
        "nats_urls": cluster.urls,
        "nats_monitor_ports": [node.monitor_port for node in cluster.nodes],
        "ports": {replica.name: replica.port for replica in replicas},
    }
    path.write_text(json.dumps(layout, indent=2))
