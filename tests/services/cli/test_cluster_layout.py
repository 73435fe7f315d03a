"""`alpr up --cluster` kept in step with deploy/k8s: as many NATS servers as the StatefulSet, the migration's
stream replicas, the cluster name and payload bound of the deployment's nats.conf, the base replica counts of
records and the gateway, and only `ALPR_*` names a service actually reads. No process is started (fast)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from services.audit.settings import AuditSettings
from services.cli.cluster.nodes import NODES, NatsCluster
from services.cli.cluster.up import SERVICE_REPLICAS, STREAM_REPLICAS, plan_services
from services.cli.embedded import EmbeddedNats
from services.cli.stack import LocalStack
from services.gateway.settings import GatewaySettings
from services.recognizer.settings import RecognizerSettings
from services.records.settings import RecordsSettings
from services.sharing.settings import SharingSettings

BASE = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "base"
SETTINGS = {
    "audit": AuditSettings,
    "gateway": GatewaySettings,
    "recognizer": RecognizerSettings,
    "records": RecordsSettings,
    "sharing": SharingSettings,
}
# read by `alpr serve` and the log set-up rather than by a service's settings class
SERVE_SETTINGS = {"http_host", "http_port", "http_workers", "drain_s", "log_format", "log_level"}


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _config_env() -> dict[str, str]:
    lines = (BASE / "config.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


class TestInStepWithKubernetes:
    def test_three_nats_servers_and_streams_at_the_migration_jobs_replication(self) -> None:
        (statefulset,) = _documents(BASE / "nats" / "statefulset.yaml")
        assert NODES == statefulset["spec"]["replicas"] == 3
        assert STREAM_REPLICAS == int(_config_env()["ALPR_NATS_STREAM_REPLICAS"])

    def test_records_gateway_and_audit_run_the_base_replica_counts(self) -> None:
        (records,) = [d for d in _documents(BASE / "services" / "records.yaml") if d["kind"] == "Deployment"]
        (audit,) = [d for d in _documents(BASE / "services" / "audit.yaml") if d["kind"] == "Deployment"]
        (gateway_hpa,) = [
            d for d in _documents(BASE / "services" / "gateway.yaml") if d["kind"] == "HorizontalPodAutoscaler"
        ]
        assert SERVICE_REPLICAS["records"] == records["spec"]["replicas"]
        assert SERVICE_REPLICAS["gateway"] == gateway_hpa["spec"]["minReplicas"]
        # two writers, one chain: each append takes the chain's writer lock (docs/operations.md)
        assert SERVICE_REPLICAS["audit"] == audit["spec"]["replicas"] == 2


class TestNodeConfiguration:
    def test_each_node_is_a_valid_server_of_the_deployments_cluster(self, tmp_path: Path) -> None:
        deployed = (BASE / "nats" / "nats.conf").read_text()
        cluster = NatsCluster(tmp_path)
        paths = cluster.write_configs()
        names = set()
        for node in cluster.nodes:
            text = paths[node.name].read_text()
            check = subprocess.run([EmbeddedNats.binary(), "-c", str(paths[node.name]), "-t"], capture_output=True)
            assert check.returncode == 0, check.stderr.decode()
            assert re.search(r"max_payload: 32MB", deployed) and "max_payload: 32MB" in text
            assert re.search(r"cluster \{\s*name: alpr", deployed) and re.search(r"cluster \{\s*name: alpr", text)
            assert sorted(int(p) for p in re.findall(r"nats://127\.0\.0\.1:(\d+)", text)) == sorted(
                n.route_port for n in cluster.nodes
            )
            assert f'store_dir: "{node.store_dir}"' in text
            names.add(re.search(r"server_name: (\S+)", text).group(1))  # type: ignore[union-attr]
        assert names == {"nats-0", "nats-1", "nats-2"}
        ports = [p for n in cluster.nodes for p in (n.client_port, n.route_port, n.monitor_port)]
        assert len(set(ports)) == len(ports) and not {4222, 5432} & set(ports)


class TestReplicaSettings:
    @pytest.fixture
    def replicas(self, tmp_path: Path):  # type: ignore[no-untyped-def]
        stack = LocalStack(tmp_path)
        urls = ["nats://127.0.0.1:1", "nats://127.0.0.1:2", "nats://127.0.0.1:3"]
        return plan_services(stack, urls, log_format="json", gateway_workers=1)

    def test_replicas_have_their_own_ports_logs_and_pid_files(self, replicas) -> None:  # type: ignore[no-untyped-def]
        assert sorted(r.name for r in replicas) == sorted(
            f"{service}-{n}" for service, count in SERVICE_REPLICAS.items() for n in range(1, count + 1)
        )
        for attribute in ("port", "log", "pid_file"):
            values = [getattr(r, attribute) for r in replicas]
            assert len(set(values)) == len(values), attribute

    def test_every_setting_given_is_one_the_service_reads(self, replicas) -> None:  # type: ignore[no-untyped-def]
        for replica in replicas:
            service = replica.name.rsplit("-", 1)[0]
            fields = set(SETTINGS[service].model_fields) | SERVE_SETTINGS
            given = {k for k, v in replica.env.items() if k.startswith("ALPR_") and os.environ.get(k) != v}
            unread = {name for name in given if name.removeprefix("ALPR_").lower() not in fields}
            assert unread == set(), (replica.name, unread)
            assert replica.env["ALPR_NATS_URL"] == "nats://127.0.0.1:1,nats://127.0.0.1:2,nats://127.0.0.1:3"
            assert replica.env["ALPR_HTTP_PORT"] == str(replica.port)
