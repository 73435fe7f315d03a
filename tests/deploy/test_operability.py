"""What the rendered overlays give SREs: a drain on termination, pods that wait for their migrations, a NATS
exporter, NetworkPolicies that let monitoring and the runbook's checks through, and stream caps that fit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from nats.js.api import DiscardPolicy

from libs.common.streams import AUDIT, READS, STREAMS, capped
from tests.deploy.test_manifests import K8S, OVERLAYS, SERVICES, _by_kind, _config, validate_k8s

Obj = dict[str, Any]
SCHEMA_SERVICES = [s for s in SERVICES if s != "recognizer"]
IN_FLIGHT_S = 10  # uvicorn's graceful shutdown (services/cli/serve.py)
STOPPING_S = 10  # consumers' stop grace and the bus drain, in the lifespan's shutdown


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[Obj]:
    return validate_k8s.render(K8S / "overlays" / request.param)


def _pod(objects: list[Obj], kind: str, name: str) -> Obj:
    return _by_kind(objects, kind)[name]["spec"]["template"]


def _selected(selector: Obj, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        present = labels.get(expression["key"])
        if expression["operator"] == "In" and present not in expression["values"]:
            return False
    return True


def _peer_matches(peer: Obj, labels: dict[str, str], namespace: str) -> bool:
    if "namespaceSelector" in peer:
        in_namespace = _selected(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace})
        return in_namespace and _selected(peer.get("podSelector", {}), labels)
    return namespace == "alpr" and _selected(peer["podSelector"], labels)


def _allows(policies: list[Obj], direction: str, pod: dict[str, str], peer: dict[str, str], ns: str, port: int) -> bool:
    """Whether some policy selecting `pod` lets traffic from (ingress) or to (egress) the peer on `port`."""
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in policies:
        spec = policy["spec"]
        if direction not in spec["policyTypes"] or not _selected(spec["podSelector"], pod):
            continue
        for rule in spec.get(key, []):
            ports = {p["port"] for p in rule.get("ports", [])}
            if ports and port not in ports:
                continue
            if peers not in rule or any(_peer_matches(p, peer, ns) for p in rule[peers]):
                return True
    return False


def _reachable(objects: list[Obj], source: dict[str, str], source_ns: str, target: dict[str, str], port: int) -> bool:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    ingress = _allows(policies, "Ingress", target, source, source_ns, port)
    # a peer outside the namespace is governed by its own namespace's policies, not ours
    egress = source_ns != "alpr" or _allows(policies, "Egress", source, target, "alpr", port)
    return ingress and egress


class TestDrain:
    @pytest.mark.parametrize("service", SERVICES)
    def test_termination_outlasts_pre_stop_drain_and_shutdown(self, rendered: list[Obj], service: str) -> None:
        pod = _pod(rendered, "Deployment", f"alpr-{service}")["spec"]
        container = pod["containers"][0]
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        drain = float(_config(rendered)["ALPR_DRAIN_S"])
        assert pre_stop >= 5 and drain > 0
        assert pod["terminationGracePeriodSeconds"] >= pre_stop + drain + IN_FLIGHT_S + STOPPING_S

    @pytest.mark.parametrize("service", SCHEMA_SERVICES)
    def test_pods_wait_for_their_migrations(self, rendered: list[Obj], service: str) -> None:
        pod = _pod(rendered, "Deployment", f"alpr-{service}")["spec"]
        [init] = pod["initContainers"]
        assert init["args"] == ["migrate", "--wait-for", service]
        env = {e["name"]: e for e in init["env"]}
        assert env["DB_USER"]["valueFrom"]["secretKeyRef"]["name"] == f"alpr-db-{service}"  # its own role
        assert init["image"] == pod["containers"][0]["image"]


class TestNats:
    def test_the_exporter_sidecar_serves_prometheus_on_7777(self, rendered: list[Obj]) -> None:
        containers = {c["name"]: c for c in _pod(rendered, "StatefulSet", "nats")["spec"]["containers"]}
        exporter = containers["metrics"]
        assert exporter["image"].startswith("natsio/prometheus-nats-exporter:")
        assert {"name": "metrics", "containerPort": 7777} in exporter["ports"]
        assert "http://localhost:8222/" in exporter["args"] and "-jsz=all" in exporter["args"]
        monitors = _by_kind(rendered, "PodMonitor")
        assert monitors["alpr-nats"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"

    def test_startup_probe_allows_a_long_catch_up_before_liveness_counts(self, rendered: list[Obj]) -> None:
        server = _pod(rendered, "StatefulSet", "nats")["spec"]["containers"][0]
        probe = server["startupProbe"]
        assert probe["httpGet"]["path"] == "/healthz"
        assert probe["periodSeconds"] * probe["failureThreshold"] >= 900


class TestNetworkPolicies:
    def test_monitoring_scrapes_services_nats_exporter_and_postgres(self, rendered: list[Obj]) -> None:
        prometheus = {"app.kubernetes.io/name": "prometheus"}
        for service in SERVICES:
            assert _reachable(rendered, prometheus, "monitoring", {"app.kubernetes.io/name": f"alpr-{service}"}, 8000)
        assert _reachable(rendered, prometheus, "monitoring", {"app.kubernetes.io/name": "nats"}, 7777)
        assert _reachable(rendered, prometheus, "monitoring", {"cnpg.io/cluster": "alpr-db"}, 9187)

    def test_the_runbooks_nats_box_reaches_the_monitor_port_and_services_do_not(self, rendered: list[Obj]) -> None:
        nats = {"app.kubernetes.io/name": "nats"}
        ops_box = {"alpr/nats-client": "true", "alpr/nats-ops": "true"}
        assert _reachable(rendered, ops_box, "alpr", nats, 8222)
        assert _reachable(rendered, ops_box, "alpr", nats, 4222)
        gateway = {"app.kubernetes.io/name": "alpr-gateway", "alpr/nats-client": "true"}
        assert not _reachable(rendered, gateway, "alpr", nats, 8222)
        assert not _reachable(rendered, {"app.kubernetes.io/name": "prometheus"}, "elsewhere", nats, 7777)


class TestStreamCaps:
    def test_the_store_setting_is_the_servers_and_the_caps_leave_audit_room(self, rendered: list[Obj]) -> None:
        conf = next(o["data"]["nats.conf"] for o in rendered if "nats.conf" in o.get("data", {}))
        match = re.search(r"max_file_store: (\d+)GB", conf)
        assert match
        store = int(_config(rendered)["ALPR_NATS_FILE_STORE_BYTES"])
        assert store == int(match[1]) * 1000**3
        caps = [capped(s, store).max_bytes or 0 for s in STREAMS]
        assert capped(AUDIT, store).max_bytes in (None, -1)  # AUDIT takes what the others leave
        assert store - sum(caps) >= store / 2
        assert capped(READS, store).max_bytes == store // 3 and READS.discard == DiscardPolicy.NEW

    def test_unknown_store_caps_nothing(self) -> None:
        assert all(capped(s, None) == s for s in STREAMS)
