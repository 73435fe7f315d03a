"""The whole system on one machine: PostgreSQL, NATS, migrations, seed, and each service's settings."""

from __future__ import annotations

import base64
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TextIO

import nats
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from libs.common.migrations import (
    SchemaMigrations,
    StreamDifference,
    apply_schemas,
    apply_streams,
    audit_stream_differences,
)
from services.cli.dev_issuer import DEV_AUDIENCE, DEV_ISSUER, DevIssuer
from services.cli.embedded import EmbeddedNats, EmbeddedPostgres
from services.cli.reach import CommandError
from services.cli.seed import seed_development

SERVICES = ("gateway", "recognizer", "records", "audit", "sharing")
SCHEMA_SERVICES = ("gateway", "records", "audit", "sharing")
DEV_AGENCY = "CA0430000"  # an example ORI of a California agency (San Jose PD's county prefix)
AUDIT_PROCEDURE = "docs/operations.md, 'Changing the AUDIT stream'"


def schema_migrations() -> list[SchemaMigrations]:
    """Every service's migration folder, found inside the installed package."""
    found = []
    for name in SCHEMA_SERVICES:
        folder = Path(str(resources.files(f"services.{name}") / "migrations"))
        if folder.is_dir():
            found.append(SchemaMigrations(schema=name, role=f"alpr_{name}", folder=folder))
    return found


@dataclass(frozen=True)
class Migration:
    """What `alpr migrate` applied, and how the AUDIT stream, which it never changes, differs from its declaration."""

    applied: list[str]
    audit_differences: list[StreamDifference]

    def report_audit(self, out: TextIO) -> None:
        """Print each AUDIT difference; a CommandError (exit 1) when AUDIT keeps less than declared."""
        if not self.audit_differences:
            return
        print(
            "AUDIT in NATS differs from its declaration (libs/common/streams.py); alpr migrate never changes it:",
            file=out,
        )
        for difference in self.audit_differences:
            print(f"  {difference}", file=out)
        print(f"Changing AUDIT's configuration is a separate, deliberate procedure: {AUDIT_PROCEDURE}.", file=out)
        out.flush()
        if less_safe := [d.setting for d in self.audit_differences if d.less_safe]:
            raise CommandError(
                f"AUDIT in NATS is less safe than declared ({', '.join(less_safe)}): it could lose audit records. "
                f"Everything else is applied; see {AUDIT_PROCEDURE}",
                exit_code=1,
            )


async def migrate(
    admin_dsn: str,
    nats_url: str,
    *,
    nats_user: str | None = None,
    nats_password: str | None = None,
    stream_replicas: int,
    file_store_bytes: int | None,
) -> Migration:
    """`alpr migrate`: schemas and JetStream streams and consumers; idempotent.

    `stream_replicas` and `file_store_bytes` are the deployment's (or the local stack's), never a default:
    a wrong one would set every existing stream to it.
    """
    applied = await apply_schemas(admin_dsn, schema_migrations())
    nc = await nats.connect(nats_url, user=nats_user, password=nats_password)
    try:
        js = nc.jetstream()
        applied += await apply_streams(js, replicas=stream_replicas, file_store_bytes=file_store_bytes)
        differences = await audit_stream_differences(js, replicas=stream_replicas)
    finally:
        await nc.close()
    return Migration(applied, differences)


@dataclass
class LocalStack:
    """Embedded PostgreSQL and NATS in `data_dir`, migrated and seeded for development or tests."""

    data_dir: Path
    durable: bool = True
    pg: EmbeddedPostgres = field(init=False)
    nats: EmbeddedNats = field(init=False)
    camera_credential: str = ""

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pg = EmbeddedPostgres(self.data_dir / "postgres", durable=self.durable)
        self.nats = EmbeddedNats(self.data_dir / "nats")
        self.issuer = DevIssuer(self.data_dir / "dev-issuer")

    def start_infrastructure(self) -> None:
        self.pg.start()
        self.nats.start()

    async def prepare(self) -> list[str]:
        """Migrate, create development keys, seed people and the camera."""
        # one embedded server, its store the disk: one replica and no caps (the `alpr up` path)
        migration = await migrate(self.pg.admin_dsn, self.nats.url, stream_replicas=1, file_store_bytes=None)
        migration.report_audit(sys.stdout)
        self.issuer.ensure_keys()
        self.camera_credential = await seed_development(self.pg.admin_dsn, self.data_dir, agency=DEV_AGENCY)
        return migration.applied

    def stop_infrastructure(self) -> None:
        self.nats.stop()
        self.pg.stop()

    def audit_signing_key(self) -> str:
        path = self.data_dir / "audit-signing.key"
        if not path.exists():
            raw = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            path.write_text(base64.b64encode(raw).decode())
            path.chmod(0o600)
        return path.read_text().strip()

    def env_for(self, service: str, *, http_port: int) -> dict[str, str]:
        """The `ALPR_*` variables a service process gets; the same names Kubernetes sets."""
        env = {
            "ALPR_ENVIRONMENT": "development",
            "ALPR_AGENCY": DEV_AGENCY,
            "ALPR_NATS_URL": self.nats.url,
            "ALPR_HTTP_PORT": str(http_port),
        }
        if service in SCHEMA_SERVICES:
            env["ALPR_DATABASE_URL"] = self.pg.url_for(f"alpr_{service}")
        if service == "gateway":
            env.update(
                ALPR_OIDC_ISSUER=DEV_ISSUER,
                ALPR_OIDC_AUDIENCE=DEV_AUDIENCE,
                ALPR_OIDC_JWKS_PATH=str(self.issuer.jwks_path),
                ALPR_DEV_ISSUER_ENABLED="true",
            )
        if service == "audit":
            env["ALPR_AUDIT_SIGNING_KEY"] = self.audit_signing_key()
        return env
