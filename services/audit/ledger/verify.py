"""Full verification of the access log: chain, sequence, stored hashes and signed checkpoints."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.ledger.chain import GENESIS_HASH, ChainLink, canonical_bytes
from services.audit.ledger.checkpoints import Checkpoint, key_id, verify_checkpoint
from services.audit.ledger.merkle import MerkleAccumulator


class FailureReason(StrEnum):
    """Why the log failed verification; stable codes for the API and the auditors' reports."""

    HASH_MISMATCH = "hash_mismatch"
    BROKEN_LINK = "broken_link"
    MISSING_RECORD = "missing_record"
    OUT_OF_ORDER = "out_of_order"
    CHECKPOINT_ROOT_MISMATCH = "checkpoint_root_mismatch"
    BAD_SIGNATURE = "bad_signature"
    STREAM_MISMATCH = "stream_mismatch"  # the record is not what the AUDIT message it was made from says


@dataclass(frozen=True, slots=True)
class VerifyFailure:
    """The first place the log stops being what was written; event_id is None for a missing record."""

    seq: int
    event_id: str | None
    reason: FailureReason
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of one verification run."""

    ok: bool
    records_checked: int
    checkpoints_checked: int
    first_failure: VerifyFailure | None = None


class _Run:
    """The state of one streaming pass: the tree so far, the checkpoints still due, the counts."""

    def __init__(self, checkpoints: Iterable[Checkpoint], public_keys: Iterable[Ed25519PublicKey]) -> None:
        self.keys = {key_id(key): key for key in public_keys}
        # Checkpoints are few (one per thousands of records), so sorting them costs little memory.
        self.due = deque(sorted(checkpoints, key=lambda checkpoint: checkpoint.tree_size))
        self.tree = MerkleAccumulator()
        self.records = 0
        self.checkpoints = 0

    def next_due(self) -> int:
        """The tree size at which the next checkpoint is checked (0: none left)."""
        return self.due[0].tree_size if self.due else 0

    def report(self, failure: VerifyFailure | None = None) -> VerifyReport:
        """The report as things stand."""
        return VerifyReport(failure is None, self.records, self.checkpoints, failure)

    def settle(self, last: RecordDocument | None) -> VerifyFailure | None:
        """Check every checkpoint whose tree size the tree has reached."""
        while self.due and self.due[0].tree_size <= self.tree.size:
            checkpoint = self.due.popleft()
            self.checkpoints += 1
            seq = checkpoint.tree_size
            event_id = last[1] if last is not None and last[0] == seq else None
            key = self.keys.get(checkpoint.key_id)
            if key is None or not verify_checkpoint(key, checkpoint):
                why = "unknown key id" if key is None else "signature does not verify"
                detail = f"checkpoint at tree size {seq}: {why} (key {checkpoint.key_id})"
                return VerifyFailure(seq, event_id, FailureReason.BAD_SIGNATURE, detail)
            if checkpoint.tree_size < self.tree.size:
                # Only reachable for a negative size; sizes are checked as the tree passes them.
                detail = f"checkpoint tree size {seq} is not a size the log had"
                return VerifyFailure(seq, event_id, FailureReason.CHECKPOINT_ROOT_MISMATCH, detail)
            if self.tree.root().hex() != checkpoint.root_hash.lower():
                detail = f"records 1..{seq} do not have the root signed at {checkpoint.timestamp}"
                return VerifyFailure(seq, event_id, FailureReason.CHECKPOINT_ROOT_MISMATCH, detail)
        return None

    def tail(self, expected: int) -> VerifyFailure | None:
        """A signed checkpoint past the last record means records were cut off the end."""
        if not self.due:
            return None
        checkpoint = self.due.popleft()
        self.checkpoints += 1
        key = self.keys.get(checkpoint.key_id)
        if key is None or not verify_checkpoint(key, checkpoint):
            detail = f"checkpoint at tree size {checkpoint.tree_size}: bad signature"
            return VerifyFailure(checkpoint.tree_size, None, FailureReason.BAD_SIGNATURE, detail)
        detail = f"signed checkpoint covers {checkpoint.tree_size} records, the log ends at {expected - 1}"
        return VerifyFailure(expected, None, FailureReason.MISSING_RECORD, detail)


class RecordDocument(NamedTuple):
    """One record as verification reads it: its place, its links and the canonical bytes it was hashed over."""

    seq: int
    event_id: str
    prev_hash: str
    hash: str
    document: bytes


class StoredRecord(NamedTuple):
    """The fields of a stored record that were made from its event, as the stream witness compares them."""

    seq: int
    event_id: str
    event_type: str
    occurred_at: datetime
    actor: str
    payload: str


def record_documents(links: Iterable[ChainLink]) -> Iterator[RecordDocument]:
    """Links as verification reads them, each document encoded here from the link's fields."""
    for link in links:
        document = canonical_bytes(
            seq=link.seq,
            event_id=link.event_id,
            event_type=link.event_type,
            occurred_at=link.occurred_at,
            actor=link.actor,
            payload=link.payload,
            prev_hash=link.prev_hash,
        )
        yield RecordDocument(link.seq, link.event_id, link.prev_hash, link.hash, document)


def verify_log(
    records: Iterable[ChainLink],
    checkpoints: Iterable[Checkpoint],
    public_keys: Iterable[Ed25519PublicKey],
    *,
    last_seq: int | None = None,
) -> VerifyReport:
    """Verify chain links (stored order, one pass, constant memory) against signed checkpoints."""
    return verify_records(record_documents(records), checkpoints, public_keys, last_seq=last_seq)


def verify_records(
    records: Iterable[RecordDocument],
    checkpoints: Iterable[Checkpoint],
    public_keys: Iterable[Ed25519PublicKey],
    *,
    last_seq: int | None = None,
) -> VerifyReport:
    """Verify records (stored order, one pass, constant memory) against signed checkpoints.

    The hashes are taken here, over each record's canonical document; whoever supplies the records
    only supplies stored data. Records are read by position, so database rows in RecordDocument's column
    order serve as they are (no object per record: this loop sets the verification rate).
    """
    run = _Run(checkpoints, public_keys)
    failure = run.settle(None)
    if failure is not None:
        return run.report(failure)
    expected, prev_hash = 1, GENESIS_HASH
    gap: tuple[int, int, RecordDocument] | None = None
    append = run.tree.append
    sha256 = hashlib.sha256
    due_at = run.next_due()
    for record in records:
        run.records += 1
        seq = record[0]
        if gap is not None:
            first_missing, next_seen, displaced = gap
            # Scanning on only to tell a deletion from a move: a moved record shows up later.
            if first_missing <= seq < next_seen:
                detail = f"seq {displaced[0]} stands where seq {first_missing} belongs"
                return run.report(_failure(displaced, FailureReason.OUT_OF_ORDER, detail))
            continue
        if seq != expected:
            if seq < expected:
                detail = f"seq {seq} comes after seq {expected - 1}"
                return run.report(_failure(record, FailureReason.OUT_OF_ORDER, detail))
            gap = (expected, seq, record)
            continue
        digest = sha256(record[4]).digest()
        if digest.hex() != record[3]:
            detail = "stored hash differs from the hash of the record's fields"
            return run.report(_failure(record, FailureReason.HASH_MISMATCH, detail))
        if record[2] != prev_hash:
            detail = f"prev_hash is not the hash of seq {expected - 1}"
            return run.report(_failure(record, FailureReason.BROKEN_LINK, detail))
        append(digest)
        prev_hash = record[3]
        if expected == due_at:
            failure = run.settle(record)
            if failure is not None:
                return run.report(failure)
            due_at = run.next_due()
        expected += 1
    if gap is not None:
        first_missing, next_seen, _ = gap
        detail = f"seq {first_missing} is missing (next record is seq {next_seen})"
        return run.report(VerifyFailure(first_missing, None, FailureReason.MISSING_RECORD, detail))
    failure = run.tail(expected)
    # The head known elsewhere (a counter, the stream sequence) catches a tail cut past the last checkpoint.
    if failure is None and last_seq is not None and expected <= last_seq:
        detail = f"the log should end at seq {last_seq} but ends at {expected - 1}"
        failure = VerifyFailure(expected, None, FailureReason.MISSING_RECORD, detail)
    return run.report(failure)


def _failure(record: RecordDocument, reason: FailureReason, detail: str) -> VerifyFailure:
    """A failure that names a record."""
    return VerifyFailure(record[0], record[1], reason, detail)
