"""`alpr`: run the whole system, one service, migrations, development tokens, model and audit tools."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

DATA_DIR = Path(os.environ.get("ALPR_DATA_DIR", ".alpr"))


def _app_factory(service: str):  # type: ignore[no-untyped-def]
    if service == "gateway":
        from services.gateway.app import create_app
    elif service == "records":
        from services.records.app import create_app  # type: ignore[assignment]
    elif service == "audit":
        from services.audit.app import create_app  # type: ignore[assignment]
    elif service == "recognizer":
        from services.recognizer.app import create_app  # type: ignore[assignment]
    elif service == "sharing":
        from services.sharing.app import create_app  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown service {service!r}")
    return create_app


def proxy_options(setting: str) -> dict[str, object]:
    """uvicorn's proxy handling from ALPR_TRUSTED_PROXIES, the rule the gateway applies (libs/common/proxies.py).

    Left to itself uvicorn believes X-Forwarded-For from 127.0.0.1 (or FORWARDED_ALLOW_IPS): a caller on the
    same machine could name any address. With no trusted proxy it reads no forwarding header at all.
    """
    from libs.common.proxies import trusted_networks

    try:
        trusted = [str(network) for network in trusted_networks(setting)]
    except ValueError as err:
        raise SystemExit(str(err)) from None
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted}


def cmd_serve(args: argparse.Namespace) -> None:
    from services.cli.serve import serve

    port = int(os.environ.get("ALPR_HTTP_PORT", "8000"))
    # in a pod the probes and the Service reach the container's address, not loopback
    host = os.environ.get("ALPR_HTTP_HOST", "0.0.0.0")
    # worker processes share the port, each with its own lifespan, like replicas behind a Service
    workers = int(os.environ.get("ALPR_HTTP_WORKERS", "1"))
    # with workers, this process only supervises them: it imports no service (argparse checked the name)
    app = f"services.{args.service}.app:create_app" if workers > 1 else _app_factory(args.service)()
    proxy = proxy_options(os.environ.get("ALPR_TRUSTED_PROXIES", ""))
    serve(args.service, app, host=host, port=port, workers=workers, proxy=proxy)


def cmd_migrate(args: argparse.Namespace) -> None:
    from services.cli.stack import migrate

    if args.wait_for is not None:
        _wait_for_schema(args.wait_for, timeout_s=args.timeout)
        return

    from services.cli.reach import check_reachable, setting_or_local
    from services.cli.tools import running_stack

    local = running_stack()
    # a superuser DSN in the deployment; the local stack's own superuser after `make run`
    admin = setting_or_local("ALPR_ADMIN_DATABASE_URL", None, local.admin_dsn if local else None)
    nats_url = setting_or_local("ALPR_NATS_URL", None, local.nats_url if local else None)
    replicas, file_store_bytes = _stream_settings(development=args.development)
    check_reachable(admin, "the database")
    check_reachable(nats_url, "the bus")
    # the deployment's NATS user `migrate`, its stream replica count and store size (deploy/k8s/base/config.env)
    applied = migrate(
        admin.replace("+asyncpg", ""),
        nats_url,
        nats_user=os.environ.get("ALPR_NATS_USER"),
        nats_password=os.environ.get("ALPR_NATS_PASSWORD"),
        stream_replicas=replicas,
        file_store_bytes=file_store_bytes,
    )
    migration = asyncio.run(applied)
    for line in migration.applied:
        print("applied", line)
    migration.report_audit(sys.stdout)


def _stream_settings(*, development: bool) -> tuple[int, int | None]:
    """ALPR_NATS_STREAM_REPLICAS and ALPR_NATS_FILE_STORE_BYTES, each required unless `--development` fills it in.

    `alpr migrate` sets every existing stream to them: a default (one replica, no size cap) would quietly take
    a deployment's redundancy and its streams' share of the store away.
    """
    from services.cli.reach import CommandError

    names = ("ALPR_NATS_STREAM_REPLICAS", "ALPR_NATS_FILE_STORE_BYTES")
    replicas_set, store_set = (os.environ.get(name, "").strip() for name in names)
    if development:
        if os.environ.get("ALPR_ENVIRONMENT", "development").strip().lower() == "production":
            raise CommandError("--development is refused in production: set " + " and ".join(names))
    elif missing := [name for name, value in zip(names, (replicas_set, store_set), strict=True) if not value]:
        raise CommandError(
            f"set {' and '.join(missing)} (deploy/k8s/base/config.env); nothing was changed. Without them every "
            "stream would get one replica and no size cap. For a local development server: --development"
        )
    try:
        replicas = int(replicas_set) if replicas_set else 1
        file_store_bytes = int(store_set) if store_set else None
    except ValueError:
        raise CommandError(f"{' and '.join(names)} must be whole numbers") from None
    if not 1 <= replicas <= 5:  # JetStream's own bound
        raise CommandError("ALPR_NATS_STREAM_REPLICAS must be 1 to 5")
    if file_store_bytes is not None and file_store_bytes <= 0:
        raise CommandError("ALPR_NATS_FILE_STORE_BYTES must be positive: the NATS servers' max_file_store")
    return replicas, file_store_bytes


def _wait_for_schema(service: str, *, timeout_s: float) -> None:
    """A service's init step: wait, read-only as its own role, until every migration its code has is applied."""
    import time

    from libs.common.migrations import missing_migrations
    from services.cli.stack import schema_migrations

    dsn = os.environ.get("ALPR_DATABASE_URL", "").replace("+asyncpg", "")
    if not dsn:
        raise SystemExit("set ALPR_DATABASE_URL (the service's own role)")
    wanted = [item for item in schema_migrations() if item.schema == service]
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            missing = asyncio.run(missing_migrations(dsn, wanted))
        except Exception as exc:  # the database not up yet, or the schema not made: wait as for a migration
            missing = [f"(database unreachable: {type(exc).__name__})"]
        if not missing:
            print(f"schema {service} is current")
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"schema {service} still lacks {', '.join(missing)} after {timeout_s:.0f}s")
        print(f"waiting for migrations: {', '.join(missing)}", flush=True)
        time.sleep(5)


def cmd_token(args: argparse.Namespace) -> None:
    from services.cli.dev_issuer import DevIssuer
    from services.cli.seed import dev_sub

    if os.environ.get("ALPR_ENVIRONMENT", "development").strip().lower() == "production":
        # the development identity has no place in production: the gateway there refuses its tokens too
        raise SystemExit("alpr token: development tokens and credentials are refused in production")
    data = Path(args.data_dir)
    if args.role == "camera":
        path = data / "dev-camera.credential"
        if not path.exists():
            raise SystemExit("no development camera yet: run `alpr up` first")
        print(path.read_text().strip())
        return
    issuer = DevIssuer(data / "dev-issuer")
    if not issuer.key_path.exists():
        raise SystemExit("no development issuer yet: run `alpr up` first")
    print(issuer.mint(args.sub or dev_sub(args.role), ttl_s=args.ttl))


def cmd_up(args: argparse.Namespace) -> None:
    from services.cli.up import run_up

    # in a terminal, the services' warnings and errors are echoed as human lines; piped, nothing is
    echo = args.echo if args.echo != "auto" else ("warning" if sys.stdout.isatty() else "none")
    if args.cluster:
        from services.cli.cluster.up import run_up_cluster

        run_up = run_up_cluster
    run_up(
        Path(args.data_dir),
        gateway_port=args.port,
        gateway_workers=args.gateway_workers,
        log_format=args.log_format,
        echo_level=None if echo == "none" else echo,
    )


def _gateway_port_setting() -> int:
    """ALPR_GATEWAY_PORT when it is a port number, else 8080: read while every command's parser is built, and in a
    pod with Kubernetes service links on it is `tcp://10.96.0.12:8080` (the Service alpr-gateway's), which must not
    stop `alpr serve` from starting (the pods turn links off; docs/operations.md)."""
    raw = os.environ.get("ALPR_GATEWAY_PORT", "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) < 65536 else 8080


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alpr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start PostgreSQL, NATS and all five services locally")
    up.add_argument("--data-dir", default=str(DATA_DIR), help="where the stack keeps its data (ALPR_DATA_DIR)")
    up.add_argument(
        "--port",
        type=int,
        default=_gateway_port_setting(),
        help="the gateway's port (ALPR_GATEWAY_PORT; default 8080)",
    )
    # the gateway is one Python process per worker: one core's worth of camera posts each (see operations.md)
    up.add_argument(
        "--gateway-workers",
        type=int,
        default=int(os.environ.get("ALPR_GATEWAY_WORKERS", "1")),
        help="gateway worker processes (ALPR_GATEWAY_WORKERS; default 1)",
    )
    # JSON lines by default (what a collector or `jq` reads); `human` for reading .alpr/logs/ in a terminal
    up.add_argument(
        "--log-format",
        choices=["json", "human"],
        default=os.environ.get("ALPR_LOG_FORMAT", "json"),
        help="the services' log lines in .alpr/logs/ (ALPR_LOG_FORMAT; default json)",
    )
    up.add_argument(
        "--echo",
        choices=["auto", "none", "info", "warning", "error"],
        default="auto",
        help="print the services' log lines at or above this level here, as human lines (auto: warning on a terminal)",
    )
    up.add_argument(
        "--cluster",
        action="store_true",
        help="the production shape: three NATS servers (streams at replication 3), two replicas of gateway, "
        "records and audit behind the gateway's port (docs/operations.md, 'alpr up --cluster')",
    )
    up.set_defaults(func=cmd_up)

    serve = sub.add_parser("serve", help="run one service, as Kubernetes runs it")
    serve.add_argument(
        "service", choices=["gateway", "recognizer", "records", "audit", "sharing"], help="the service to run"
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations and JetStream declarations")
    migrate.add_argument(
        "--wait-for",
        choices=["gateway", "records", "audit", "sharing"],
        help="apply nothing: wait until this service's schema has every migration (a pod's init step)",
    )
    migrate.add_argument("--timeout", type=float, default=1800.0, help="seconds --wait-for waits at most")
    migrate.add_argument(
        "--development",
        action="store_true",
        help="a local development server: one stream replica and no size caps where ALPR_NATS_STREAM_REPLICAS "
        "and ALPR_NATS_FILE_STORE_BYTES are not set (both required otherwise; refused in production)",
    )
    migrate.set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="print a development token (or the dev camera's credential)")
    token.add_argument(
        "--role",
        required=True,
        choices=["officer", "analyst", "supervisor", "admin", "auditor", "custodian", "camera"],
        help="whose token: a seeded development person's, or the development camera's credential",
    )
    token.add_argument("--sub", default=None, help="the subject (default: the role's seeded person)")
    token.add_argument("--ttl", type=int, default=3600, help="seconds; the gateway refuses over 12 h by default")
    token.add_argument("--data-dir", default=str(DATA_DIR), help="the local stack's folder (ALPR_DATA_DIR)")
    token.set_defaults(func=cmd_token)

    from services.cli.tools import add_tool_commands

    add_tool_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run one command; a refusal or an unreachable server is one line on stderr and a nonzero exit.

    ALPR_DEBUG=1 lets the traceback through, for a bug report.
    """
    from pydantic import ValidationError

    from libs.common.errors import AlprError
    from services.cli.reach import CommandError

    args = build_parser().parse_args(argv)
    name = " ".join(str(part) for part in ("alpr", args.command, getattr(args, "action", None)) if part)
    try:
        args.func(args)
    except CommandError as err:
        _fail(name, str(err), err.exit_code)
    except AlprError as err:  # typed: its stable code; 2 where the input was refused, 1 where the work failed
        _fail(
            name,
            f"{'refused' if err.status < 500 else 'failed'} ({err.code}): {err.message}",
            2 if err.status < 500 else 1,
            err,
        )
    except ValidationError as err:  # a setting missing or refused at start-up
        fields = ", ".join(f"ALPR_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in err.errors())
        _fail(name, f"settings refused: {fields}", 2, err)
    except BrokenPipeError:  # the reader of our output left (`| head`): nothing is wrong and nothing to say
        _quiet_stdout()
        raise SystemExit(141) from None  # 128 + SIGPIPE, as a shell's own commands end
    except FileNotFoundError as err:  # a path the operator gave: their input, not a server out of reach
        _fail(name, f"no such file or folder: {err.filename or err}", 2, err)
    except (OSError, ConnectionError) as err:
        _fail(name, f"unreachable: {err}", 1, err)
    except KeyboardInterrupt:
        _fail(name, "interrupted", 130)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush into a closed pipe cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file descriptor (captured): there is nothing to flush there
        pass


def _fail(name: str, message: str, code: int, cause: BaseException | None = None) -> None:
    if cause is not None and os.environ.get("ALPR_DEBUG"):
        raise cause
    print(f"{name}: {message}", file=sys.stderr)
    raise SystemExit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
