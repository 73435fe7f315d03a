"""Benchmark of `alpr audit verify` against PostgreSQL: a log of N records with signed checkpoints.

Starts an embedded PostgreSQL (services.cli.stack), migrates it, loads N chained search records and a
signed checkpoint every `--every` records with COPY (as the superuser, into the real audit tables), then
times services.audit.verification.verify_database over the whole log, and once more with one record changed.

Run: .venv/bin/python bench/audit_verify_db.py [--n 1000000] [--every 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.audit_verify import events
from libs.common.db import UnitOfWork, create_engine
from services.audit import repository
from services.audit.ledger.chain import ChainLink, link_after
from services.audit.ledger.checkpoints import sign_checkpoint
from services.audit.ledger.merkle import MerkleAccumulator
from services.audit.verification import verify_database
from services.cli.stack import LocalStack

COLUMNS = ("seq", "event_id", "event_type", "occurred_at", "actor", "payload", "prev_hash", "hash")
CHUNK = 50_000


async def load(dsn: str, n: int, every: int, key: Ed25519PrivateKey) -> float:
    """Chain n records, COPY them in chunks with the checkpoints; returns the seconds it took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    tree = MerkleAccumulator()
    previous: ChainLink | None = None
    rows: list[tuple[object, ...]] = []
    checkpoints: list[tuple[object, ...]] = []
    try:
        for fields in events(n, as_text=True):
            previous = link_after(previous, **fields)
            tree.append(bytes.fromhex(previous.hash))
            rows.append(tuple(getattr(previous, column) for column in COLUMNS))
            if tree.size % every == 0:
                cp = sign_checkpoint(key, tree_size=tree.size, root_hash=tree.root().hex(), timestamp=datetime.now(UTC))
                checkpoints.append((cp.tree_size, cp.root_hash, cp.timestamp, cp.key_id, cp.signature))
            if len(rows) >= CHUNK:
                await conn.copy_records_to_table("access_records", schema_name="audit", records=rows, columns=COLUMNS)
                rows = []
        if rows:
            await conn.copy_records_to_table("access_records", schema_name="audit", records=rows, columns=COLUMNS)
        await conn.copy_records_to_table("checkpoints", schema_name="audit", records=checkpoints)
        await conn.execute("ANALYZE audit.access_records")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def read_only(dsn: str, n: int) -> float:
    """The rate of streaming the records (canonical documents) out of the database alone: verification's ceiling."""
    engine = create_engine(dsn.replace("postgresql://", "postgresql+asyncpg://", 1), schema="audit", pool_size=1)
    try:
        began = time.perf_counter()
        async with UnitOfWork(engine)() as session:
            count = 0
            async for chunk in repository.iter_record_chunks([session]):
                count += len(chunk)
        assert count == n
        return count / (time.perf_counter() - began)
    finally:
        await engine.dispose()


async def tamper(dsn: str, seq: int) -> None:
    """Change one record as a superuser would: triggers off, update, triggers on."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER TABLE audit.access_records DISABLE TRIGGER USER")
        await conn.execute("UPDATE audit.access_records SET payload = replace(payload, '2', '3') WHERE seq = $1", seq)
        await conn.execute("ALTER TABLE audit.access_records ENABLE TRIGGER USER")
    finally:
        await conn.close()


async def run(stack: LocalStack, n: int, every: int) -> None:
    """Load, verify, tamper, verify again; print the figures."""
    await stack.prepare()
    key = Ed25519PrivateKey.generate()
    loaded = await load(stack.pg.admin_dsn, n, every, key)
    print(f"loaded {n:,} records and {n // every} checkpoints in {loaded:.1f} s")
    print(f"reading every record back, nothing else: {await read_only(stack.pg.admin_dsn, n):,.0f} records/s")
    began, cpu = time.perf_counter(), time.process_time()
    report = await verify_database(stack.pg.admin_dsn, public_keys=[key.public_key()])
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    checked = report["records_checked"]
    print(
        f"verify from the database: ok={report['ok']} records={checked:,} "
        f"checkpoints={report['checkpoints_checked']} in {took:.1f} s ({checked / took:,.0f} records/s; "
        f"{checked / cpu:,.0f} records per CPU-second of this process, PostgreSQL's share not included)"
    )
    target = n // 2 + 7
    await tamper(stack.pg.admin_dsn, target)
    began = time.perf_counter()
    report = await verify_database(stack.pg.admin_dsn, public_keys=[key.public_key()])
    took = time.perf_counter() - began
    print(f"after changing seq {target:,}: ok={report['ok']} first_failure={report['first_failure']} in {took:.1f} s")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="alpr-bench-"))
    folder.chmod(0o755)
    stack = LocalStack(folder, durable=False)
    stack.start_infrastructure()
    try:
        asyncio.run(run(stack, args.n, args.every))
    finally:
        stack.stop_infrastructure()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
