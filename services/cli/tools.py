"""`alpr recognizer …`, `alpr audit …`, `alpr deadletter …`: the model, log verification, set-aside messages."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import NoReturn

from services.cli.progress import working
from services.cli.reach import CommandError, RunningStack, check_reachable, find_local_stack, setting_or_local

SHARED = Path(os.environ.get("ALPR_SHARED_DIR", "../shared"))
# the detector recipe's defaults, repeated here so building the parser does not import torch
DETECTOR_STEPS, DETECTOR_MINUTES = 12000, 45.0


def _train(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import train_main
    from services.recognizer.engine.train import ARCH

    # unset options take the trainer's defaults (`python -m services.recognizer.engine.cli train`'s), so any
    # run recorded with that module's arguments is the same run here (MODEL_CARD.md, Reproduce)
    options = ("minutes", "steps", "seed", "lr", "version", "snapshots", "real_share", "glyph_shuffle", "highway_faces")
    given = {k: getattr(args, k) for k in options if getattr(args, k) is not None}
    if args.width is not None or args.hidden is not None:
        # ignored by the trainer with --init, whose weights carry their own design
        given["arch"] = {"width": args.width or ARCH["width"], "hidden": args.hidden or ARCH["hidden"]}
    init = Path(args.init) if args.init else None
    train_main(
        Path(args.out),
        data_dir=Path(args.data_dir),
        init=init,
        hold_calibration_split=args.hold_calibration_split,
        rectify_only=args.rectify_only,
        **given,
    )


def _calibrate(args: argparse.Namespace) -> None:
    from services.recognizer.engine.calibrate import DEFAULT_SYNTHETIC
    from services.recognizer.engine.cli import calibrate_main
    from services.recognizer.engine.weights import DEFAULT_WEIGHTS

    weights = Path(args.weights) if args.weights else DEFAULT_WEIGHTS
    real_from = None if args.synthetic_only else Path(args.real_from)
    synthetic = args.synthetic if args.synthetic is not None else DEFAULT_SYNTHETIC
    calibrate_main(weights, real_from=real_from, synthetic=synthetic)


def _eval(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import eval_main

    report = eval_main(Path(args.images_dir), Path(args.labels), weights=Path(args.weights) if args.weights else None)
    print(json.dumps(report, indent=2, default=str))


def _show(args: argparse.Namespace) -> None:
    from services.recognizer.engine.cli import show_main

    show_main(Path(args.weights) if args.weights else None)


def _train_detector(args: argparse.Namespace) -> None:
    from services.recognizer.detector.cli import run

    run(args)


def _eval_frames(args: argparse.Namespace) -> None:
    from services.recognizer.detector.cli import run

    run(args)


def _verify(args: argparse.Namespace) -> None:
    import nats.errors

    from services.audit.ledger.checkpoints import load_public_key, load_signing_key
    from services.audit.verification import verify_database

    local = running_stack()
    database_url = setting_or_local(
        "ALPR_DATABASE_URL", args.database_url, local.database_url("alpr_audit") if local else None
    )
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
    if not keys and local is not None and local.audit_signing_key_file is not None:
        # the local stack's own key, which `alpr up` made: after `make run`, verify needs no flag
        keys.append(load_signing_key(local.audit_signing_key_file.read_text().strip()).public_key())
    if not keys:
        # without a key no checkpoint can be trusted: refuse rather than report a log as unverifiable
        _usage("no checkpoint key: give --public-key or --signing-key-file, or set ALPR_AUDIT_PUBLIC_KEYS")
    nats_url = None if args.no_stream else (args.nats_url or os.environ.get("ALPR_NATS_URL") or _nats_of(local))
    check_reachable(database_url, "the database")
    if nats_url:
        check_reachable(nats_url, "the bus (--no-stream skips the stream check)")
    # the pod's own NATS user (audit in the deployment); the bus refuses a connection without one
    user, password = os.environ.get("ALPR_NATS_USER"), os.environ.get("ALPR_NATS_PASSWORD")
    verifying = verify_database(
        database_url, public_keys=keys, nats_url=nats_url, nats_user=user, nats_password=password
    )
    try:
        with working("verifying the audit log"):
            report = asyncio.run(verifying)
    except (OSError, nats.errors.Error) as exc:
        _usage(f"the bus at {nats_url} refused or is unreachable ({exc}); --no-stream skips the stream check")
    print(json.dumps(report, indent=2, default=str))
    raise SystemExit(0 if report.get("ok") else 1)


def _usage(message: str) -> NoReturn:
    """Exit 2 (a usage error), kept apart from 1 (the log failed verification)."""
    print(f"alpr audit verify: {message}", file=sys.stderr)
    raise SystemExit(2)


def running_stack() -> RunningStack | None:
    """The local stack in ALPR_DATA_DIR when one runs there; None otherwise (the ALPR_* settings then rule)."""
    try:
        return find_local_stack()
    except CommandError:
        return None


def _nats_of(local: RunningStack | None) -> str | None:
    return local.nats_url if local else None


def nats_url_for(given: str | None) -> str:
    """--nats-url, else ALPR_NATS_URL, else the local stack's; reachable, or a one-line CommandError."""
    url = setting_or_local("ALPR_NATS_URL", given, _nats_of(running_stack()))
    check_reachable(url, "the bus")
    return url


# `alpr purge --now` is the restore runbook's step before traffic (purge-job.yaml): a purge already running
# (the hourly one) holds the lock and the request answers `ran: false`. Exiting 0 then let the Job complete
# with nothing purged, so the command asks again until a purge of its own ran, within the Job's deadline
# (activeDeadlineSeconds 1800), and exits 3 if none did.
PURGE_RETRY_S = 10.0
PURGE_WAIT_S = 1500.0


def _purge(args: argparse.Namespace) -> None:
    from services.records.retention.cli import purge_now

    url = nats_url_for(args.nats_url)
    deadline = time.monotonic() + PURGE_WAIT_S
    with working("purging what retention allows"):
        report = asyncio.run(purge_now(url))
        while not report.get("ran") and time.monotonic() + PURGE_RETRY_S < deadline:
            print(f"alpr purge: another purge is running; asking again in {PURGE_RETRY_S:g} s", file=sys.stderr)
            time.sleep(PURGE_RETRY_S)
            report = asyncio.run(purge_now(url))
    print(json.dumps(report, indent=2, default=str))
    if not report.get("ran"):
        print("alpr purge: no purge ran (another held the lock throughout); run it again", file=sys.stderr)
        raise SystemExit(3)


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

    nats_url = nats_url_for(args.nats_url)

    async def run() -> object:
        # the deployment's operator user for DEADLETTER; the bus refuses a connection without one
        nc = await nats.connect(
            nats_url,
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
    listing.add_argument("--json", action="store_true", help="print JSON instead of one line per dead letter")
    show = dead_sub.add_parser("show", help="one dead letter: its headers and body (recorded on AUDIT first)")
    show.add_argument("seq", type=int, help="the dead letter's sequence number (from `list`)")
    replay = dead_sub.add_parser(
        "replay", help="publish it again to its original subject, then remove it (recorded on AUDIT first)"
    )
    replay.add_argument("seq", type=int, help="the dead letter's sequence number (from `list`)")
    for action in (show, replay):
        # the access record's actor and purpose; without a confirmed record nothing is printed or republished
        action.add_argument("--operator", default=None, help="your name (default: ALPR_OPERATOR); required")
        action.add_argument("--badge", required=True, help="your badge number")
        action.add_argument("--reason", required=True, help="why you open it (free text, recorded)")
    for action in (listing, show, replay):
        action.add_argument("--nats-url", default=None, help="default: ALPR_NATS_URL, else the local stack's")
        action.set_defaults(func=_deadletter)

    purge = sub.add_parser("purge", help="run the retention purge now (it also runs periodically in records)")
    purge.add_argument("--now", action="store_true", required=True, help="purge what retention allows, now")
    purge.add_argument("--nats-url", default=None, help="default: ALPR_NATS_URL, else the local stack's")
    purge.set_defaults(func=_purge)

    rec = sub.add_parser("recognizer", help="train, calibrate or evaluate the plate reader")
    rec_sub = rec.add_subparsers(dest="action", required=True)
    train = rec_sub.add_parser("train", help="train the CRNN on synthetic and real plates (CPU, seeded)")
    train.add_argument("--out", default="services/recognizer/weights/crnn.pt", help="where the weights are written")
    train.add_argument(
        "--data-dir", default=str(SHARED / "data" / "plates-openalpr-us"), help="the real plates to train on"
    )
    # unset: the shipped recipe (MODEL_CARD.md); --minutes only bounds a slow machine, the steps govern
    train.add_argument("--minutes", type=float, help="stop after this many minutes (a slow machine's bound)")
    train.add_argument("--steps", type=int, help="training steps (default: the shipped recipe's)")
    train.add_argument("--seed", type=int, help="the random seed (default: the shipped recipe's)")
    # a run may go on from earlier weights (docs/recognizer-experiments.md, run G)
    train.add_argument("--init", help="train on from these weights instead of from scratch")
    train.add_argument("--lr", type=float, help="peak learning rate (default: the shipped recipe's)")
    train.add_argument("--version", help="the version written into the weights (default: the shipped one's)")
    train.add_argument("--snapshots", type=int, help="learning-rate cycles, one ensemble member each (default 3)")
    train.add_argument("--real-share", type=float, help="share of each batch taken from real crops (default 0.25)")
    train.add_argument("--width", type=int, help="channels of the second conv layer (from scratch only)")
    train.add_argument("--hidden", type=int, help="GRU units per direction (from scratch only)")
    train.add_argument(
        "--rectify-only",
        action="store_true",
        help="with --init: train a rectifier (spatial transformer) in front of each member, the members frozen",
    )
    train.add_argument(
        "--glyph-shuffle",
        type=float,
        metavar="SHARE",
        help="with --init: this share of the real crops are plates with their glyphs re-ordered (default 0)",
    )
    train.add_argument(
        "--highway-faces",
        type=float,
        metavar="SHARE",
        help="this share of the synthetic plates is drawn in a Highway Gothic face, Overpass (default 0)",
    )
    train.add_argument(
        "--train-on-calibration-split",
        dest="hold_calibration_split",
        action="store_false",
        help="also train on the calibration split (as crnn-us-2.2 did); such weights calibrate on synthetic crops only",
    )
    train.set_defaults(func=_train)
    cal = rec_sub.add_parser(
        "calibrate", help="choose and fit the confidence calibrator and the SURE level into a weights file"
    )
    cal.add_argument("--weights", default=None, help="the weights file to calibrate in place (default: the shipped)")
    cal.add_argument(
        "--real-from",
        default=str(SHARED / "data" / "plates-openalpr-us"),
        help="fit also on this folder's calibration-split photos (weights trained without them)",
    )
    cal.add_argument(
        "--synthetic-only", action="store_true", help="fit on synthetic crops alone (weights that saw the split)"
    )
    cal.add_argument("--synthetic", type=int, default=None, help="fresh synthetic crops to fit on (default 6,000)")
    cal.set_defaults(func=_calibrate)
    ev = rec_sub.add_parser("eval", help="exact-plate accuracy, CER, confusions and throughput")
    ev.add_argument("images_dir", help="a folder of plate images")
    ev.add_argument("labels", help="the labels file: image name and plate text")
    ev.add_argument("--weights", default=None, help="weights to evaluate (default: the shipped ones)")
    ev.set_defaults(func=_eval)
    show = rec_sub.add_parser("show", help="which model a weights file is (the model_version its reads carry)")
    show.add_argument("--weights", default=None, help="the weights file (default: the shipped one)")
    show.set_defaults(func=_show)
    # the plate detector (services/recognizer/detector): options as `python -m services.recognizer.detector.cli`
    detector_train = rec_sub.add_parser("train-detector", help="train the plate detector (CPU, seeded)")
    detector_train.add_argument(
        "--out",
        type=Path,
        default=Path("services/recognizer/weights/detector.pt"),
        help="where the weights are written",
    )
    detector_train.add_argument(
        "--data-dir",
        type=Path,
        default=SHARED / "data" / "plates-openalpr-us",
        help="folder with labels.tsv and images/ (the held-out photos are never trained on)",
    )
    detector_train.add_argument("--minutes", type=float, default=DETECTOR_MINUTES, help="time bound of the run")
    detector_train.add_argument("--steps", type=int, default=DETECTOR_STEPS, help="steps (the clock may end it first)")
    detector_train.add_argument("--seed", type=int, default=0, help="the random seed (the shipped detector: 0)")
    detector_train.add_argument("--init", type=Path, default=None, help="train on from these detector weights")
    detector_train.set_defaults(func=_train_detector)
    frames = rec_sub.add_parser("eval-frames", help="detector recall, other detections and end-to-end exact plate")
    frames.add_argument("images_dir", type=Path, help="a folder of photos")
    frames.add_argument("labels", type=Path, help="labels.tsv: image x y w h plate")
    frames.add_argument("--weights", type=Path, default=None, help="reader weights (default: the shipped ones)")
    frames.add_argument("--detector-weights", type=Path, default=None, help="default: the shipped detector")
    frames.add_argument(
        "--split",
        choices=("held-out", "calibration", "all"),
        default="held-out",
        help="which shared photos: the 74 held out, the 40 of the calibration split, or all",
    )
    frames.add_argument("--all", dest="split", action="store_const", const="all", help="the same as --split all")
    frames.add_argument("--rules", action="store_true", help="also score each candidate reading rule (calibration)")
    frames.add_argument("--json", action="store_true", help="also print the report as JSON")
    frames.set_defaults(func=_eval_frames)

    audit = sub.add_parser("audit", help="verify the audit log")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    verify = audit_sub.add_parser("verify", help="check the whole hash chain and every signed checkpoint")
    verify.add_argument(
        "--database-url", default=None, help="default: ALPR_DATABASE_URL, else the local stack's (ALPR_DATA_DIR)"
    )
    verify.add_argument("--public-key", action="append", default=[], help="checkpoint key, PEM or base64 (repeat)")
    verify.add_argument(
        "--signing-key-file",
        action="append",
        default=[],
        help="a signing key file (repeat); default: the local stack's .alpr/audit-signing.key",
    )
    verify.add_argument(
        "--nats-url",
        default=None,
        help="hold the log's end against the AUDIT stream (default: ALPR_NATS_URL, else the local stack's)",
    )
    verify.add_argument("--no-stream", action="store_true", help="skip the stream check (the bus is unreachable)")
    verify.set_defaults(func=_verify)
