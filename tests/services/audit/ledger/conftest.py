"""A small, valid access log with signed checkpoints, built fresh for each test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.ledger.chain import ChainLink, link_after
from services.audit.ledger.checkpoints import Checkpoint, sign_checkpoint
from services.audit.ledger.merkle import MerkleAccumulator

START = datetime(2026, 3, 2, 14, 30, 0, 250_000, tzinfo=UTC)


@dataclass
class Log:
    links: list[ChainLink]
    checkpoints: list[Checkpoint]
    key: Ed25519PrivateKey


def build_log(size: int, every: int, key: Ed25519PrivateKey) -> Log:
    """A chain of search records with a checkpoint every `every` records."""
    links: list[ChainLink] = []
    checkpoints: list[Checkpoint] = []
    tree = MerkleAccumulator()
    previous = None
    for i in range(1, size + 1):
        previous = link_after(
            previous,
            event_id=f"evt-{i:04d}",
            event_type="search",
            occurred_at=START + timedelta(minutes=i),
            actor={"sub": f"officer-{i % 3}", "badge": f"B{i % 3:03d}", "agency": "BFO"},
            payload={"plates": [f"7ABC{i:03d}"], "case_number": "BFO-2026-00017", "result_count": i % 4},
        )
        links.append(previous)
        tree.append(bytes.fromhex(previous.hash))
        if i % every == 0:
            checkpoints.append(sign_checkpoint(key, tree_size=i, root_hash=tree.root().hex()))
    return Log(links, checkpoints, key)


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def log(signing_key: Ed25519PrivateKey) -> Log:
    return build_log(50, 10, signing_key)
