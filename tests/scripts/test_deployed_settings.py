"""The settings the fault drill takes from a rendered overlay (scripts/deployed_settings.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from deployed_settings import DeployedSettings, LocalEndpoints  # noqa: E402

LOCAL = LocalEndpoints(
    nats_url="nats://127.0.0.1:14222",
    postgres_netloc="127.0.0.1:15432",
    jwks_path=Path("/tmp/dev-issuer/jwks.json"),
    audit_signing_key="local-audit-key",
)


@pytest.fixture(scope="module")
def production() -> DeployedSettings:
    return DeployedSettings.render(ROOT / "deploy" / "k8s" / "overlays" / "production")


class TestServiceEnvironment:
    def test_takes_the_overlays_config_map_and_the_deployments_user(self, production: DeployedSettings) -> None:
        env = production.service_env("records", LOCAL)
        assert env["ALPR_ENVIRONMENT"] == "production"
        assert env["ALPR_RETENTION_DAYS"] == "365"
        assert env["ALPR_NATS_USER"] == "records"
        assert env["ALPR_NATS_PASSWORD"] == production.nats_server_env()["RECORDS_PASSWORD"]

    def test_cluster_addresses_become_local_ones(self, production: DeployedSettings) -> None:
        env = production.service_env("gateway", LOCAL)
        password = production.secret_values[("alpr-db-gateway", "password")]
        assert env["ALPR_DATABASE_URL"] == f"postgresql+asyncpg://alpr_gateway:{password}@127.0.0.1:15432/alpr"
        assert env["ALPR_NATS_URL"] == LOCAL.nats_url
        assert env["ALPR_OIDC_JWKS_PATH"] == str(LOCAL.jwks_path)
        assert env["ALPR_OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:9/v1/traces"

    def test_the_audit_signing_key_is_made_locally(self, production: DeployedSettings) -> None:
        assert production.service_env("audit", LOCAL)["ALPR_AUDIT_SIGNING_KEY"] == "local-audit-key"

    def test_the_migration_job_gets_the_owners_dsn_and_the_migrate_user(self, production: DeployedSettings) -> None:
        env = production.container_env("Job", "alpr-migrate", "migrate", LOCAL)
        assert env["ALPR_ADMIN_DATABASE_URL"].startswith("postgresql+asyncpg://postgres:")
        assert env["ALPR_NATS_USER"] == "migrate"
        assert env["ALPR_NATS_STREAM_REPLICAS"] == "3"


class TestNatsServer:
    def test_runs_the_deployed_users_on_one_local_server(self, production: DeployedSettings, tmp_path: Path) -> None:
        conf = production.nats_conf(port=14222, store_dir=tmp_path)
        assert "listen: 127.0.0.1:14222" in conf and f'store_dir: "{tmp_path}"' in conf
        assert "cluster {" not in conf and "routes" not in conf
        assert "user: recognizer" in conf and "$RECORDS_PASSWORD" in conf
        assert set(production.nats_server_env()) >= {"GATEWAY_PASSWORD", "MIGRATE_PASSWORD", "POD_NAME"}

    def test_stream_replicas_and_servers_come_from_the_deployment(self, production: DeployedSettings) -> None:
        assert (production.stream_replicas(), production.nats_servers()) == (3, 3)
