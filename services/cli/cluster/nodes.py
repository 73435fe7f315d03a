"""Three nats-server processes forming one JetStream cluster on loopback, as deploy/k8s/base/nats runs three pods."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import nats
from nats.errors import Error as NatsError

from services.cli.embedded import EmbeddedNats, free_ports

CLUSTER_NAME = "alpr"  # deploy/k8s/base/nats/nats.conf's cluster name
NODES = 3  # the StatefulSet's replicas: a stream at replication 3 survives the loss of one server


@dataclass(frozen=True)
class NatsNode:
    """One server of the cluster: its own client, route and monitoring ports, store folder and server_name."""

    index: int
    client_port: int
    route_port: int
    monitor_port: int
    store_dir: Path

    @property
    def name(self) -> str:
        return f"nats-{self.index}"  # the StatefulSet's pod names, which nats.conf takes as server_name

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def config(self, routes: list[int]) -> str:
        """The node's nats.conf: the deployment's payload bound and cluster block, on loopback ports."""
        route_list = "\n".join(f"    nats://127.0.0.1:{port}" for port in routes)
        return (
            f"server_name: {self.name}\n"
            f'listen: "127.0.0.1:{self.client_port}"\n'
            f'http: "127.0.0.1:{self.monitor_port}"\n'
            "max_payload: 32MB\n"
            f'jetstream {{\n  store_dir: "{self.store_dir}"\n}}\n'
            f"cluster {{\n  name: {CLUSTER_NAME}\n"
            f'  listen: "127.0.0.1:{self.route_port}"\n'
            f"  routes: [\n{route_list}\n  ]\n"
            # a restarted node keeps trying its peers, as the pods do while the others start
            "  connect_retries: 120\n}\n"
        )


class NatsCluster:
    """The three nodes' configuration files in `folder`; the processes are started by the supervisor."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        ports = free_ports(3 * NODES)
        self.nodes = [
            NatsNode(i, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], self.folder / f"nats-{i}")
            for i in range(NODES)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def write_configs(self) -> dict[str, Path]:
        """Each node's nats.conf, by node name; routes name every node (a server skips its own)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        routes = [node.route_port for node in self.nodes]
        paths = {}
        for node in self.nodes:
            node.store_dir.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{node.name}.conf"
            path.write_text(node.config(routes))
            paths[node.name] = path
        return paths

    def command(self, node: NatsNode) -> list[str]:
        return [EmbeddedNats.binary(), "-c", str(self.folder / f"{node.name}.conf")]


async def wait_for_jetstream(urls: list[str], *, timeout_s: float = 60) -> None:
    """Until the cluster has elected a JetStream meta leader: before that no stream can be declared."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            nc = await nats.connect(servers=urls, connect_timeout=2, max_reconnect_attempts=0)
            try:
                await nc.jetstream(timeout=2).account_info()
                return
            finally:
                await nc.close()
        except (NatsError, OSError, TimeoutError) as exc:
            last = exc
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the NATS cluster elected no JetStream leader within {timeout_s:.0f}s ({last})")
