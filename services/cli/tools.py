"""`alpr recognizer …` and `alpr audit …`: model training and evaluation, log verification."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

SHARED = Path(os.environ.get("ALPR_SHARED_DIR", "../shared"))


def _train(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import train_main

    train_main(Path(args.out), data_dir=Path(args.data_dir), minutes=args.minutes, seed=args.seed)


def _eval(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import eval_main

    report = eval_main(Path(args.images_dir), Path(args.labels), weights=Path(args.weights) if args.weights else None)
    print(json.dumps(report, indent=2, default=str))


def _verify(args: argparse.Namespace) -> None:
    from services.audit.verification import verify_database

    report = asyncio.run(verify_database(os.environ.get("ALPR_DATABASE_URL", args.database_url or "")))
    print(json.dumps(report, indent=2, default=str))
    raise SystemExit(0 if report.get("ok") else 1)


def _purge(args: argparse.Namespace) -> None:
    from services.records.retention.cli import purge_now

    print(json.dumps(asyncio.run(purge_now(os.environ.get("ALPR_NATS_URL", args.nats_url))), indent=2, default=str))


def add_tool_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    purge = sub.add_parser("purge", help="run the retention purge now (it also runs periodically in records)")
    purge.add_argument("--now", action="store_true", required=True, help="purge what retention allows, now")
    purge.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    purge.set_defaults(func=_purge)

    rec = sub.add_parser("recognizer", help="train or evaluate the plate reader")
    rec_sub = rec.add_subparsers(dest="action", required=True)
    train = rec_sub.add_parser("train", help="train the CRNN on synthetic and real plates (CPU, seeded)")
    train.add_argument("--out", default="services/recognizer/weights/crnn.pt")
    train.add_argument("--data-dir", default=str(SHARED / "data" / "plates-openalpr-us"))
    train.add_argument("--minutes", type=float, default=45.0)
    train.add_argument("--seed", type=int, default=1798)
    train.set_defaults(func=_train)
    ev = rec_sub.add_parser("eval", help="exact-plate accuracy, CER, confusions and throughput")
    ev.add_argument("images_dir")
    ev.add_argument("labels")
    ev.add_argument("--weights", default=None)
    ev.set_defaults(func=_eval)

    audit = sub.add_parser("audit", help="verify the audit log")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    verify = audit_sub.add_parser("verify", help="check the whole hash chain and every signed checkpoint")
    verify.add_argument("--database-url", default=None)
    verify.set_defaults(func=_verify)
