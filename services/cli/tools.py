"""`alpr recognizer …`, `alpr audit …`, `alpr deadletter …`: the model, log verification, set-aside messages."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

SHARED = Path(os.environ.get("ALPR_SHARED_DIR", "../shared"))


def _train(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import train_main

    # unset options take the trainer's defaults, which reproduce the shipped weights (MODEL_CARD.md)
    given = {k: v for k, v in (("minutes", args.minutes), ("steps", args.steps), ("seed", args.seed)) if v is not None}
    train_main(Path(args.out), data_dir=Path(args.data_dir), **given)


def _eval(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import eval_main

    report = eval_main(Path(args.images_dir), Path(args.labels), weights=Path(args.weights) if args.weights else None)
    print(json.dumps(report, indent=2, default=str))


def _verify(args: argparse.Namespace) -> None:
    import nats.errors

    from services.audit.ledger.checkpoints import load_public_key, load_signing_key
    from services.audit.verification import verify_database

    database_url = args.database_url or os.environ.get("ALPR_DATABASE_URL", "")
    if not database_url:
        _usage("give --database-url or set ALPR_DATABASE_URL")
    keys = [load_public_key(text) for text in args.public_key]
    # a signing key file, as `alpr up` keeps in .alpr/audit-signing.key (raw keys of both kinds are 32
    # bytes, so the kind is said by the option, never guessed)
    keys += [load_signing_key(Path(path).read_text().strip()).public_key() for path in args.signing_key_file]
    if not keys:
        # the environment's keys only when none were given: an auditor can trust exactly the keys they hold
        env_keys = os.environ.get("ALPR_AUDIT_PUBLIC_KEYS", "").split(",")
        keys += [load_public_key(text) for text in env_keys if text.strip()]
        if os.environ.get("ALPR_AUDIT_SIGNING_KEY"):
            keys.append(load_signing_key(os.environ["ALPR_AUDIT_SIGNING_KEY"]).public_key())
    if not keys:
        # without a key no checkpoint can be trusted: refuse rather than report a log as unverifiable
        _usage("no checkpoint key: give --public-key or --signing-key-file, or set ALPR_AUDIT_PUBLIC_KEYS")
    nats_url = None if args.no_stream else (args.nats_url or os.environ.get("ALPR_NATS_URL"))
    # the pod's own NATS user (audit in the deployment); the bus refuses a connection without one
    user, password = os.environ.get("ALPR_NATS_USER"), os.environ.get("ALPR_NATS_PASSWORD")
    verifying = verify_database(
        database_url, public_keys=keys, nats_url=nats_url, nats_user=user, nats_password=password
    )
    try:
        report = asyncio.run(verifying)
    except (OSError, nats.errors.Error) as exc:
        _usage(f"the bus at {nats_url} refused or is unreachable ({exc}); --no-stream skips the stream check")
    print(json.dumps(report, indent=2, default=str))
    raise SystemExit(0 if report.get("ok") else 1)


def _usage(message: str) -> NoReturn:
    """Exit 2 (a usage error), kept apart from 1 (the log failed verification)."""
    print(f"alpr audit verify: {message}", file=sys.stderr)
    raise SystemExit(2)


def _purge(args: argparse.Namespace) -> None:
    from services.records.retention.cli import purge_now

    print(json.dumps(asyncio.run(purge_now(os.environ.get("ALPR_NATS_URL", args.nats_url))), indent=2, default=str))


def _deadletter(args: argparse.Namespace) -> None:
    import nats

    from libs.common.audit_trail import AuditTrail
    from libs.common.bus import Bus
    from libs.common.errors import AlprError
    from libs.common.settings import CommonSettings
    from services.cli.deadletter import Operator, list_dead_letters, replay_dead_letter, show_dead_letter

    operator: Operator | None = None
    if args.action != "list":
        # a dead letter holds a read: who asks and why is recorded before anything of it is printed
        try:
            name = args.operator or os.environ.get("ALPR_OPERATOR")
            operator = Operator.checked(name, args.badge, args.reason, agency=os.environ.get("ALPR_AGENCY"))
        except AlprError as err:
            print(f"alpr deadletter {args.action}: {err.message}", file=sys.stderr)
            raise SystemExit(2) from None

    async def run() -> object:
        # the deployment's operator user for DEADLETTER; the bus refuses a connection without one
        nc = await nats.connect(
            args.nats_url or os.environ.get("ALPR_NATS_URL", "nats://127.0.0.1:4222"),
            user=os.environ.get("ALPR_NATS_USER"),
            password=os.environ.get("ALPR_NATS_PASSWORD"),
        )
        try:
            bus = Bus(nc, name="alpr-cli")
            if args.action == "list" or operator is None:
                return await list_dead_letters(bus.js, limit=args.limit)
            trail = AuditTrail(bus, persist_wait_ms=CommonSettings.model_fields["audit_persist_wait_ms"].default)
            if args.action == "show":
                return await show_dead_letter(bus.js, args.seq, trail=trail, operator=operator)
            return await replay_dead_letter(bus.js, args.seq, trail=trail, operator=operator)
        finally:
            await nc.close()

    try:
        result = asyncio.run(run())
    except AlprError as err:
        print(f"alpr deadletter {args.action}: {err.message}", file=sys.stderr)
        raise SystemExit(1) from None
    if args.action == "list" and not args.json:
        for item in result:  # type: ignore[attr-defined]
            origin = f"{item['origin']} seq {item['origin_seq']}"
            print(f"{item['seq']:>8}  {item['at'] or '-':<32}  {origin:<40}  {item['error']}")
        return
    print(json.dumps(result, indent=2, default=str))


def add_tool_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dead = sub.add_parser("deadletter", help="messages the consumers set aside: list, show, replay")
    dead_sub = dead.add_subparsers(dest="action", required=True)
    listing = dead_sub.add_parser(
        "list", help="origin, sequence, error and time of each dead letter (nothing of the read: no record)"
    )
    listing.add_argument("--limit", type=int, default=100, help="the newest N (default 100)")
    listing.add_argument("--json", action="store_true")
    show = dead_sub.add_parser("show", help="one dead letter: its headers and body (recorded on AUDIT first)")
    show.add_argument("seq", type=int)
    replay = dead_sub.add_parser(
        "replay", help="publish it again to its original subject, then remove it (recorded on AUDIT first)"
    )
    replay.add_argument("seq", type=int)
    for action in (show, replay):
        # the access record's actor and purpose; without a confirmed record nothing is printed or republished
        action.add_argument("--operator", default=None, help="your name (default: ALPR_OPERATOR); required")
        action.add_argument("--badge", required=True, help="your badge number")
        action.add_argument("--reason", required=True, help="why you open it (free text, recorded)")
    for action in (listing, show, replay):
        action.add_argument("--nats-url", default=None, help="default: ALPR_NATS_URL")
        action.set_defaults(func=_deadletter)

    purge = sub.add_parser("purge", help="run the retention purge now (it also runs periodically in records)")
    purge.add_argument("--now", action="store_true", required=True, help="purge what retention allows, now")
    purge.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    purge.set_defaults(func=_purge)

    rec = sub.add_parser("recognizer", help="train or evaluate the plate reader")
    rec_sub = rec.add_subparsers(dest="action", required=True)
    train = rec_sub.add_parser("train", help="train the CRNN on synthetic and real plates (CPU, seeded)")
    train.add_argument("--out", default="services/recognizer/weights/crnn.pt")
    train.add_argument("--data-dir", default=str(SHARED / "data" / "plates-openalpr-us"))
    # unset: the shipped recipe (MODEL_CARD.md); --minutes only bounds a slow machine, the steps govern
    train.add_argument("--minutes", type=float)
    train.add_argument("--steps", type=int)
    train.add_argument("--seed", type=int)
    train.set_defaults(func=_train)
    ev = rec_sub.add_parser("eval", help="exact-plate accuracy, CER, confusions and throughput")
    ev.add_argument("images_dir")
    ev.add_argument("labels")
    ev.add_argument("--weights", default=None)
    ev.set_defaults(func=_eval)

    audit = sub.add_parser("audit", help="verify the audit log")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    verify = audit_sub.add_parser("verify", help="check the whole hash chain and every signed checkpoint")
    verify.add_argument("--database-url", default=None, help="default: ALPR_DATABASE_URL")
    verify.add_argument("--public-key", action="append", default=[], help="checkpoint key, PEM or base64 (repeat)")
    verify.add_argument("--signing-key-file", action="append", default=[], help="e.g. .alpr/audit-signing.key")
    verify.add_argument("--nats-url", default=None, help="hold the log's end against the AUDIT stream (ALPR_NATS_URL)")
    verify.add_argument("--no-stream", action="store_true", help="skip the stream check (the bus is unreachable)")
    verify.set_defaults(func=_verify)
