"""Benchmark of the audit ledger: build a hash-chained log with checkpoints, then verify it.

Run: .venv/bin/python bench/audit_verify.py [--n 1000000] [--tamper change|delete|reorder]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the repository root holds the `services` package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.ledger.chain import ChainLink, canonical_json, link_after
from services.audit.ledger.checkpoints import Checkpoint, sign_checkpoint
from services.audit.ledger.merkle import MerkleAccumulator
from services.audit.ledger.verify import verify_log

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
OFFICERS = [{"sub": f"oidc|{n:04d}", "name": f"Officer {n}", "badge": f"B{n:05d}", "agency": "BFO"} for n in range(200)]
OFFICER_TEXT = [canonical_json(officer) for officer in OFFICERS]


def events(n: int, as_text: bool) -> Iterator[dict[str, Any]]:
    """The fields of n search events, as the audit service receives them."""
    for i in range(n):
        payload = {
            "plates": [f"7ABC{i % 1000:03d}"],
            "authorized_use": "stolen_vehicle",
            "case_number": f"BFO-2026-{i % 99999:05d}",
            "reason": "follow-up on reported stolen vehicle near the depot",
            "client_addr": "10.20.30.40",
            "result_count": 2,
            "result_ids": [f"r{i}-1", f"r{i}-2"],
        }
        # As the service stores them: actor and payload as their canonical JSON text.
        yield {
            "event_id": str(uuid.UUID(int=i + 1)),
            "event_type": "search",
            "occurred_at": START + timedelta(seconds=i, microseconds=i % 997),
            "actor": OFFICER_TEXT[i % len(OFFICERS)] if as_text else OFFICERS[i % len(OFFICERS)],
            "payload": canonical_json(payload) if as_text else payload,
        }


def build(
    fields: Iterable[dict[str, Any]], every: int, key: Ed25519PrivateKey
) -> tuple[list[ChainLink], list[Checkpoint], float]:
    """Chain the events, keep the Merkle root, sign a checkpoint every `every` records; time the chaining."""
    links: list[ChainLink] = []
    checkpoints: list[Checkpoint] = []
    tree = MerkleAccumulator()
    previous: ChainLink | None = None
    clock, chaining_s = time.perf_counter, 0.0
    # Events are made as they are chained (as they arrive in the service), but only chaining is timed.
    for event in fields:
        started = clock()
        previous = link_after(previous, **event)
        links.append(previous)
        tree.append(bytes.fromhex(previous.hash))
        if tree.size % every == 0:
            checkpoints.append(sign_checkpoint(key, tree_size=tree.size, root_hash=tree.root().hex()))
        chaining_s += clock() - started
    return links, checkpoints, chaining_s


def tamper(links: list[ChainLink], how: str) -> str:
    """Alter the log in the middle the way an insider with database access might."""
    middle = len(links) // 2
    target = links[middle]
    if how == "change":
        payload = target.payload
        if isinstance(payload, str):
            edited: Mapping[str, Any] | str = payload.replace("stolen vehicle", "stolen vehicle (edited)")
        else:
            edited = {**payload, "reason": "edited"}
        links[middle] = dataclasses.replace(target, payload=edited)
        return f"changed payload of seq {target.seq}"
    if how == "delete":
        del links[middle]
        return f"deleted seq {target.seq}"
    links[middle], links[middle + 1] = links[middle + 1], links[middle]
    return f"swapped seq {target.seq} and seq {target.seq + 1}"


def main() -> None:
    """Build, optionally tamper, verify and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="records in the log")
    parser.add_argument("--every", type=int, default=1_000, help="records per checkpoint")
    parser.add_argument(
        "--mappings",
        action="store_true",
        help="actor and payload as dicts (re-encoded) instead of stored text",
    )
    parser.add_argument("--tamper", nargs="?", const="change", choices=["change", "delete", "reorder"])
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()

    links, checkpoints, build_s = build(events(args.n, as_text=not args.mappings), args.every, key)
    print(f"records: {args.n}  checkpoints: {len(checkpoints)} (every {args.every})")
    print(f"chain build: {build_s:.2f} s, {args.n / build_s:,.0f} records/s (hash, Merkle, signing)")
    if args.tamper:
        print(f"tamper: {tamper(links, args.tamper)}")

    started, cpu_started = time.perf_counter(), time.process_time()
    report = verify_log(iter(links), checkpoints, [key.public_key()])
    verify_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU time too: on a shared machine the wall clock also counts other processes' turns.
    rate, cpu_rate = report.records_checked / verify_s, report.records_checked / cpu_s
    print(f"verify: {verify_s:.2f} s, {rate:,.0f} records/s ({cpu_rate:,.0f} records per CPU second)")
    print(
        f"report: ok={report.ok} records_checked={report.records_checked} "
        f"checkpoints_checked={report.checkpoints_checked}"
    )
    if report.first_failure is not None:
        failure = report.first_failure
        print(f"first failure: seq={failure.seq} event_id={failure.event_id} reason={failure.reason.value}")
        print(f"  {failure.detail}")


if __name__ == "__main__":
    main()
