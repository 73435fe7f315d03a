"""The settings a rendered Kubernetes overlay gives each service, made runnable on one machine.

The overlay is rendered as scripts/validate_k8s.py renders it. Each service gets its Deployment's
environment (the ConfigMaps it reads with envFrom, its literal values, `$(VAR)` references expanded);
NATS runs the deployment's nats.conf with its per-service users. What the repository does not hold is
made here: Secrets get development values (random hex passwords, a local audit signing key), the
identity provider's JWKS is a stand-in key (a production gateway refuses the development issuer's), and
cluster addresses become local ones.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import validate_k8s

Obj = dict[str, Any]
LOCAL_FILE_STORE_BYTES = 4_000_000_000  # the one local server's JetStream store, smaller than a cluster volume


@dataclass(frozen=True)
class LocalEndpoints:
    """Where the one-machine stack listens, and the development stand-ins for cluster-made objects."""

    nats_url: str
    postgres_netloc: str  # 127.0.0.1:PORT
    jwks_path: Path
    audit_signing_key: str


@dataclass
class DeployedSettings:
    """One rendered overlay: each service's environment and the NATS server configuration."""

    overlay: Path
    objects: list[Obj]
    # (Secret, key) -> development value; made once, so a service and nats-server agree on a password
    secret_values: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def render(cls, overlay: Path) -> DeployedSettings:
        """Render `overlay` (a kustomization directory)."""
        return cls(overlay=overlay, objects=validate_k8s.render(overlay.resolve()))

    def config(self, key: str) -> str:
        """A value of the shared settings ConfigMap (alpr-config)."""
        return str(self._config_maps()["alpr-config"]["data"][key])

    def stream_replicas(self) -> int:
        """Replicas the deployment declares for every JetStream stream."""
        return int(self.config("ALPR_NATS_STREAM_REPLICAS"))

    def nats_servers(self) -> int:
        """Servers of the NATS StatefulSet."""
        (statefulset,) = [o for o in self.objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "nats"]
        return int(statefulset["spec"]["replicas"])

    def container_env(self, kind: str, name: str, container: str, local: LocalEndpoints) -> dict[str, str]:
        """The environment of one container, with local addresses in place of the cluster's."""
        (obj,) = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        (spec,) = [c for c in validate_k8s._containers(obj) if c["name"] == container]
        maps = self._config_maps()
        env: dict[str, str] = {}
        for source in spec.get("envFrom", []):
            env.update(maps[source["configMapRef"]["name"]]["data"])
        for entry in spec.get("env", []):
            if "value" in entry:
                # Kubernetes expands $(VAR) from variables defined before this one
                env[entry["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), entry["value"])
            else:
                env[entry["name"]] = self._value_from(entry["valueFrom"], local)
        return self._localized(env, local)

    def service_env(self, service: str, local: LocalEndpoints) -> dict[str, str]:
        """The environment of a service's container in its Deployment `alpr-<service>`."""
        return self.container_env("Deployment", f"alpr-{service}", service, local)

    def nats_conf(self, *, port: int, store_dir: Path) -> str:
        """The deployment's nats.conf for one local server: no cluster block, local port and storage."""
        text = self._rendered_nats_conf()
        text = re.sub(r"^cluster \{.*?^\}\n", "", text, flags=re.DOTALL | re.MULTILINE)
        text = re.sub(r"^listen: .*$", f"listen: 127.0.0.1:{port}", text, flags=re.MULTILINE)
        text = re.sub(r"^http: .*\n", "", text, flags=re.MULTILINE)
        text = re.sub(r"store_dir: \S+", f'store_dir: "{store_dir}"', text)
        return re.sub(r"max_file_store: \S+", f"max_file_store: {LOCAL_FILE_STORE_BYTES}", text)

    def nats_server_env(self) -> dict[str, str]:
        """The variables nats.conf refers to: every user's password, the pod name."""
        keys = set(re.findall(r"\$([A-Z_]+_PASSWORD)\b", self._rendered_nats_conf()))
        env = {key: self._secret("alpr-nats-users", key) for key in sorted(keys)}
        return {**env, "POD_NAME": "nats-0"}

    def _rendered_nats_conf(self) -> str:
        (text,) = [o["data"]["nats.conf"] for o in self.objects if "nats.conf" in o.get("data", {})]
        return str(text)

    def _config_maps(self) -> dict[str, Obj]:
        """Rendered ConfigMaps by their name before kustomize's hash suffix."""
        found = {}
        for obj in self.objects:
            if obj["kind"] == "ConfigMap":
                name = obj["metadata"]["name"]
                found[re.sub(r"-[a-z0-9]{10}$", "", name)] = found[name] = obj
        return found

    def _value_from(self, source: Obj, local: LocalEndpoints) -> str:
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            if (ref["name"], ref["key"]) == ("alpr-audit-signing", "ALPR_AUDIT_SIGNING_KEY"):
                return local.audit_signing_key
            return self._secret(ref["name"], ref["key"])
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            return str(self._config_maps()[ref["name"]]["data"][ref["key"]])
        raise ValueError(f"no local stand-in for valueFrom {sorted(source)}")

    def _secret(self, name: str, key: str) -> str:
        """A development value for a Secret the cluster holds (the repository holds none)."""
        if (name, key) not in self.secret_values:
            if name.startswith("alpr-db-") and key == "username":
                role = name.removeprefix("alpr-db-")
                value = "postgres" if role == "owner" else f"alpr_{role}"  # CNPG's roles; local superuser
            elif key.endswith("password") or key.endswith("PASSWORD"):
                value = secrets.token_hex(16)  # URL-safe, as secrets.example.env asks
            else:
                raise ValueError(f"no development value for Secret {name} key {key}")
            self.secret_values[(name, key)] = value
        return self.secret_values[(name, key)]

    @staticmethod
    def _localized(env: dict[str, str], local: LocalEndpoints) -> dict[str, str]:
        """Cluster addresses and mounted files replaced by the local stack's."""
        env = dict(env)
        env["ALPR_NATS_URL"] = local.nats_url
        if "ALPR_NATS_FILE_STORE_BYTES" in env:  # the local server's smaller store (nats_conf)
            env["ALPR_NATS_FILE_STORE_BYTES"] = str(LOCAL_FILE_STORE_BYTES)
        env["ALPR_HTTP_HOST"] = "127.0.0.1"
        for key in ("ALPR_DATABASE_URL", "ALPR_ADMIN_DATABASE_URL"):
            if key in env:
                url = urlsplit(env[key])
                credentials = url.netloc.rpartition("@")[0]
                env[key] = urlunsplit(url._replace(netloc=f"{credentials}@{local.postgres_netloc}"))
        if {"ALPR_OIDC_JWKS_PATH", "ALPR_OIDC_JWKS_URL", "ALPR_OIDC_DISCOVERY"} & env.keys():
            # the provider is outside: its keys become the stand-in file, the one key source the gateway takes
            env.pop("ALPR_OIDC_JWKS_URL", None)
            env.pop("ALPR_OIDC_DISCOVERY", None)
            env["ALPR_OIDC_JWKS_PATH"] = str(local.jwks_path)
        if "ALPR_OTEL_EXPORTER_OTLP_ENDPOINT" in env:
            # the collector is outside: export to a closed local port, so spans are dropped as when it is down
            url = urlsplit(env["ALPR_OTEL_EXPORTER_OTLP_ENDPOINT"])
            env["ALPR_OTEL_EXPORTER_OTLP_ENDPOINT"] = urlunsplit(url._replace(netloc="127.0.0.1:9"))
        return env
