"""Fault drill for ingest: post reads while records is SIGKILLed, NATS restarts, PostgreSQL restarts.

Each scenario asserts that exactly the posted reads are stored, none twice, and that the gateway
answered 202 only for reads JetStream acknowledged (a 503 makes the camera retry).
With --settings-from OVERLAY the services run with the settings that Kubernetes overlay gives them,
NATS runs the deployment's nats.conf (per-service users and permissions) and the migration runs as the
overlay's migration Job; see scripts/deployed_settings.py for what is made locally.
Usage: python scripts/ingest_faults.py [--reads 100000] [--scenario records|nats|postgres|all]
                                       [--settings-from deploy/k8s/overlays/production]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from deployed_settings import DeployedSettings, LocalEndpoints

from services.cli.embedded import EmbeddedNats, _die_with_parent, _wait_for_port, free_ports
from services.cli.seed import seed_development
from services.cli.stack import LocalStack

SERVICES = ("audit", "records", "gateway")


def stand_in_provider_keys(folder: Path) -> Path:
    """The identity provider's JWKS for an overlay's settings: a key of its own, for a production gateway
    refuses the development issuer's. The drill posts as a camera, so no token is ever signed with it."""
    path = folder / "jwks.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        public = ec.generate_private_key(ec.SECP256R1()).public_key()
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        key = {**jwk.construct(pem, "ES256").to_dict(), "kid": "stand-in-provider", "use": "sig", "alg": "ES256"}
        path.write_text(json.dumps({"keys": [key]}))
    return path


class DeployedNats(EmbeddedNats):
    """nats-server from the deployment's nats.conf: one server of the three, same users and permissions."""

    def __init__(self, data_dir: Path, settings: DeployedSettings) -> None:
        super().__init__(data_dir)
        self.settings = settings

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir.parent / "nats.log"
        conf = self.data_dir.parent / "nats.conf"
        conf.write_text(self.settings.nats_conf(port=self.port, store_dir=self.data_dir))
        self.proc = subprocess.Popen(
            [self.binary(), "-c", str(conf)],
            env={**os.environ, **self.settings.nats_server_env()},
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )
        _wait_for_port(self.port, self.proc, "nats-server", log)


class Drill:
    """The system as separate processes, so each can be killed and restarted on its own."""

    def __init__(self, settings: DeployedSettings | None = None, *, gateway_workers: int = 1) -> None:
        self.gateway_workers = gateway_workers
        folder = Path(tempfile.mkdtemp(prefix="alpr-faults-"))
        folder.chmod(0o755)
        self.stack = LocalStack(folder)
        self.settings = settings
        if settings:
            self.stack.nats = DeployedNats(self.stack.nats.data_dir, settings)
        self.ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    async def start(self) -> None:
        self.stack.start_infrastructure()
        if self.settings:
            await self.prepare_as_deployed(self.settings)
        else:
            await self.stack.prepare()
        for name in SERVICES:
            self.start_service(name)
        for name in SERVICES:
            await self.wait_ready(name)

    def local_endpoints(self) -> LocalEndpoints:
        return LocalEndpoints(
            nats_url=self.stack.nats.url,
            postgres_netloc=f"127.0.0.1:{self.stack.pg.port}",
            jwks_path=stand_in_provider_keys(self.stack.data_dir / "stand-in-provider"),
            audit_signing_key=self.stack.audit_signing_key(),
        )

    async def prepare_as_deployed(self, settings: DeployedSettings) -> None:
        """`alpr migrate` with the migration Job's environment, then the development seed."""
        env = settings.container_env("Job", "alpr-migrate", "migrate", self.local_endpoints())
        declared, servers = settings.stream_replicas(), 1
        # one local nats-server holds one replica; the cluster's three servers hold `declared` each
        env["ALPR_NATS_STREAM_REPLICAS"] = str(min(declared, servers))
        print(
            f"settings from {settings.overlay}: ALPR_ENVIRONMENT={env['ALPR_ENVIRONMENT']}, NATS users and "
            f"permissions from nats.conf; stream replicas {declared} declared ({settings.nats_servers()} servers), "
            f"{env['ALPR_NATS_STREAM_REPLICAS']} here (one local server); Secrets made locally",
            flush=True,
        )
        migrate = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli.main",
            "migrate",
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await migrate.communicate()
        if migrate.returncode != 0:
            raise RuntimeError(f"alpr migrate failed as the migration Job: {output.decode()[-3000:]}")
        self.stack.issuer.ensure_keys()
        admin, agency = self.stack.pg.admin_dsn, settings.config("ALPR_AGENCY")
        self.stack.camera_credential = await seed_development(admin, self.stack.data_dir, agency=agency)

    def start_service(self, name: str) -> None:
        if self.settings:
            service_env = self.settings.service_env(name, self.local_endpoints())
        else:
            service_env = self.stack.env_for(name, http_port=self.ports[name])
        env = {
            **os.environ,
            **service_env,
            "ALPR_HTTP_PORT": str(self.ports[name]),
            "ALPR_HTTP_HOST": "127.0.0.1",
            "ALPR_LOG_LEVEL": "warning",
        }
        if name == "gateway":  # worker processes behind one port, as replicas behind a Service
            env["ALPR_HTTP_WORKERS"] = str(self.gateway_workers)
        log = (self.stack.data_dir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", name],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # a drill killed at its test's timeout (SIGKILL: no `stop`) leaves no service running behind it
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )

    async def wait_ready(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                try:
                    if (await client.get(f"http://127.0.0.1:{self.ports[name]}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{name} not ready")

    async def stored(self) -> tuple[int, int]:
        conn = await asyncpg.connect(self.stack.pg.admin_dsn)
        try:
            row = await conn.fetchrow("SELECT count(*) AS n, count(DISTINCT read_id) AS d FROM records.reads")
            return int(row["n"]), int(row["d"])
        finally:
            await conn.close()

    def process_states(self) -> str:
        """Each service process as it stands: running, or how it ended (a crash in a C extension logs nothing)."""
        states = []
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is None:
                states.append(f"{name} running")
            elif code < 0:
                try:
                    states.append(f"{name} killed by {signal.Signals(-code).name}")
                except ValueError:
                    states.append(f"{name} killed by signal {-code}")
            else:
                states.append(f"{name} exited {code}")
        return ", ".join(states)

    def stop(self, *, keep: bool = False) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.stack.stop_infrastructure()
        if keep:
            print(f"logs kept in {self.stack.data_dir}")
        else:
            shutil.rmtree(self.stack.data_dir, ignore_errors=True)


async def post_all(drill: Drill, total: int, tag: str, outcome: dict[str, int]) -> dict[str, int]:
    """Post `total` reads in batches of 500, retrying each batch until the gateway answers 202."""
    credential = drill.stack.camera_credential
    now = datetime.now(UTC).isoformat()
    batches = [
        [
            {"plate": f"F{tag}{i:07d}", "captured_at": now, "read_id": f"{tag}-{i}"}
            for i in range(start, min(start + 500, total))
        ]
        for start in range(0, total, 500)
    ]
    url = f"http://127.0.0.1:{drill.ports['gateway']}/v1/reads"
    queue: asyncio.Queue[list[dict]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            while True:
                try:
                    r = await client.post(url, json={"reads": batch}, headers={"Authorization": f"Bearer {credential}"})
                except httpx.HTTPError:
                    outcome["errors"] += 1
                    await asyncio.sleep(0.2)
                    continue
                if r.status_code == 202:
                    outcome["accepted"] += r.json()["accepted"]
                    break
                assert r.status_code == 503, f"unexpected {r.status_code}: {r.text[:200]}"
                outcome["refused_503"] += 1
                await asyncio.sleep(0.2)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(4)))
    return outcome


async def fault(drill: Drill, scenario: str, outcome: dict[str, int], at: int) -> None:
    """Inject the fault once `at` reads have been accepted, so it lands in the middle of the posting."""
    while outcome["accepted"] < at:
        await asyncio.sleep(0.01)
    if scenario == "records":
        drill.procs["records"].send_signal(signal.SIGKILL)
        drill.procs["records"].wait()
        await asyncio.sleep(1.0)
        drill.start_service("records")
    elif scenario == "nats":
        drill.stack.nats.stop()
        await asyncio.sleep(1.0)
        drill.stack.nats.start()
    elif scenario == "postgres":
        drill.stack.pg.stop()
        await asyncio.sleep(1.0)
        drill.stack.pg.start()
    print(f"  {scenario}: fault injected and recovered", flush=True)


async def run(
    scenarios: list[str], total: int, settings: DeployedSettings | None = None, *, gateway_workers: int = 1
) -> bool:
    drill = Drill(settings, gateway_workers=gateway_workers)
    ok = True
    try:
        await drill.start()
        print(f"gateway workers: {gateway_workers}", flush=True)
        expected, _ = await drill.stored()
        for scenario in scenarios:
            tag = uuid.uuid4().hex[:3].upper()
            started = time.monotonic()
            outcome = {"accepted": 0, "refused_503": 0, "errors": 0}
            await asyncio.gather(post_all(drill, total, tag, outcome), fault(drill, scenario, outcome, total // 3))
            expected += total
            deadline = time.monotonic() + 180
            while (await drill.stored())[1] < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            rows, distinct = await drill.stored()
            passed = rows == distinct == expected and outcome["accepted"] == total
            ok &= passed
            print(
                f"{scenario}: posted {total}, accepted {outcome['accepted']}, 503s {outcome['refused_503']}, "
                f"connection errors {outcome['errors']}; stored {rows} rows, {distinct} distinct, expected "
                f"{expected} in {time.monotonic() - started:.1f}s → {'PASS' if passed else 'FAIL'}",
                flush=True,
            )
            if not passed:  # where records waits: a batch stuck in its handler, or a consumer loop that ended
                # (libs/common/consumer.py); neither line could also mean records itself is gone: say which live
                print(f"  processes: {drill.process_states()}", flush=True)
                kept = drill.stack.data_dir / "records.log"
                said = kept.read_text(errors="replace").splitlines() if kept.exists() else []
                told = [line[:2000] for line in said if "in its handler" in line or "ended unasked" in line]
                print(*told[-3:], sep="\n  ", flush=True)
        if drill.settings:
            # a permission the deployment's nats.conf lacks shows up here, even if a retry hid it
            log = (drill.stack.data_dir / "nats.log").read_text(errors="replace")
            violations = [line for line in log.splitlines() if "violation" in line.lower()]
            print(f"nats.conf permission violations: {len(violations)}", *violations[:10], sep="\n  ", flush=True)
            ok &= not violations
    except BaseException:
        ok = False
        raise
    finally:
        drill.stop(keep=not ok)
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument("--scenario", choices=["records", "nats", "postgres", "all"], default="all")
    parser.add_argument(
        "--settings-from",
        type=Path,
        metavar="OVERLAY",
        help="run with the settings of a Kubernetes overlay, e.g. deploy/k8s/overlays/production",
    )
    parser.add_argument("--gateway-workers", type=int, default=1, help="gateway worker processes on its port")
    args = parser.parse_args()
    chosen = ["records", "nats", "postgres"] if args.scenario == "all" else [args.scenario]
    deployed = DeployedSettings.render(args.settings_from) if args.settings_from else None
    sys.exit(0 if asyncio.run(run(chosen, args.reads, deployed, gateway_workers=args.gateway_workers)) else 1)
