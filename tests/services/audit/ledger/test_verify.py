"""Verification of the whole log: each kind of tampering is named at the exact record."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.ledger.chain import ChainLink, canonical_json, link_after
from services.audit.ledger.checkpoints import sign_checkpoint
from services.audit.ledger.verify import FailureReason, VerifyReport, verify_log

from .conftest import Log, build_log


def verify(log: Log, links: list[ChainLink] | None = None, keys: list | None = None) -> VerifyReport:
    """Verify as the API does: records streamed one by one, never as a list."""
    records = iter(log.links if links is None else links)
    return verify_log(records, log.checkpoints, keys or [log.key.public_key()])


def failure_of(report: VerifyReport) -> tuple[int, str | None, FailureReason]:
    assert not report.ok and report.first_failure is not None
    return report.first_failure.seq, report.first_failure.event_id, report.first_failure.reason


def rehashed(links: list[ChainLink], start: int) -> list[ChainLink]:
    """Recompute the chain from index `start` on, as an insider covering their tracks would."""
    out = links[:start]
    for link in links[start:]:
        fields = {f: getattr(link, f) for f in ("event_id", "event_type", "occurred_at", "actor", "payload")}
        out.append(link_after(out[-1] if out else None, **fields))
    return out


class TestIntactLog:
    def test_passes_and_counts(self, log: Log) -> None:
        report = verify(log)
        assert report == VerifyReport(ok=True, records_checked=50, checkpoints_checked=5)

    def test_actor_and_payload_as_stored_json_text_verify_the_same(self, log: Log) -> None:
        as_text = [
            dataclasses.replace(link, actor=canonical_json(link.actor), payload=canonical_json(link.payload))
            for link in log.links
        ]
        assert verify(log, as_text).ok
        as_text[8] = dataclasses.replace(as_text[8], payload=str(as_text[8].payload).replace("7ABC", "7ABD"))
        assert failure_of(verify(log, as_text)) == (9, "evt-0009", FailureReason.HASH_MISMATCH)

    def test_long_log_checks_every_checkpoint(self, signing_key: Ed25519PrivateKey) -> None:
        log = build_log(2600, 1000, signing_key)
        assert verify(log) == VerifyReport(ok=True, records_checked=2600, checkpoints_checked=2)
        links = list(log.links)
        links[1500] = dataclasses.replace(links[1500], event_type="export")
        assert failure_of(verify(log, rehashed(links, 1500))) == (
            2000,
            "evt-2000",
            FailureReason.CHECKPOINT_ROOT_MISMATCH,
        )

    def test_empty_log_without_checkpoints_passes(self, signing_key: Ed25519PrivateKey) -> None:
        assert verify_log(iter([]), [], [signing_key.public_key()]).ok


class TestTampering:
    def test_changed_record_is_named(self, log: Log) -> None:
        links = list(log.links)
        links[16] = dataclasses.replace(links[16], payload={**links[16].payload, "result_count": 0})
        assert failure_of(verify(log, links)) == (17, "evt-0017", FailureReason.HASH_MISMATCH)

    def test_changed_and_rehashed_record_breaks_the_next_link(self, log: Log) -> None:
        links = list(log.links)
        changed = dataclasses.replace(links[16], actor={"sub": "someone-else"})
        links[16] = dataclasses.replace(changed, hash=changed.recomputed_hash())
        assert failure_of(verify(log, links)) == (18, "evt-0018", FailureReason.BROKEN_LINK)

    def test_deleted_record_is_named_as_missing(self, log: Log) -> None:
        links = [link for link in log.links if link.seq != 23]
        report = verify(log, links)
        assert failure_of(report) == (23, None, FailureReason.MISSING_RECORD)
        assert report.records_checked == 49

    def test_swapped_neighbours_name_the_first_out_of_place(self, log: Log) -> None:
        links = list(log.links)
        links[30], links[31] = links[31], links[30]
        assert failure_of(verify(log, links)) == (32, "evt-0032", FailureReason.OUT_OF_ORDER)

    def test_distant_swap_names_the_first_out_of_place(self, log: Log) -> None:
        links = list(log.links)
        links[4], links[40] = links[40], links[4]
        assert failure_of(verify(log, links)) == (41, "evt-0041", FailureReason.OUT_OF_ORDER)

    def test_record_moved_back_is_out_of_order_not_missing(self, log: Log) -> None:
        links = list(log.links)
        links.insert(45, links.pop(9))
        assert failure_of(verify(log, links)) == (11, "evt-0011", FailureReason.OUT_OF_ORDER)

    def test_duplicated_record_is_out_of_order(self, log: Log) -> None:
        links = list(log.links)
        links.insert(12, links[11])
        assert failure_of(verify(log, links)) == (12, "evt-0012", FailureReason.OUT_OF_ORDER)

    def test_rewritten_history_is_caught_by_the_first_checkpoint_after_it(self, log: Log) -> None:
        links = list(log.links)
        links[13] = dataclasses.replace(links[13], payload={"plates": ["OTHER"]})
        assert failure_of(verify(log, rehashed(links, 13))) == (
            20,
            "evt-0020",
            FailureReason.CHECKPOINT_ROOT_MISMATCH,
        )

    def test_records_cut_off_the_end_are_missing(self, log: Log) -> None:
        report = verify(log, log.links[:44])
        assert failure_of(report) == (45, None, FailureReason.MISSING_RECORD)

    def test_cut_tail_past_the_last_checkpoint_needs_the_known_last_seq(self, signing_key: Ed25519PrivateKey) -> None:
        log = build_log(45, 10, signing_key)
        assert verify(log, log.links[:43]).ok
        report = verify_log(iter(log.links[:43]), log.checkpoints, [signing_key.public_key()], last_seq=45)
        assert failure_of(report) == (44, None, FailureReason.MISSING_RECORD)


class TestCheckpoints:
    def test_bad_signature_is_named(self, log: Log) -> None:
        log.checkpoints[2] = dataclasses.replace(log.checkpoints[2], root_hash="00" * 32)
        seq, event_id, reason = failure_of(verify(log))
        assert (seq, event_id, reason) == (30, "evt-0030", FailureReason.BAD_SIGNATURE)

    def test_checkpoint_signed_with_an_unknown_key_fails(self, log: Log) -> None:
        report = verify(log, keys=[Ed25519PrivateKey.generate().public_key()])
        assert failure_of(report) == (10, "evt-0010", FailureReason.BAD_SIGNATURE)

    def test_validly_signed_wrong_root_is_a_root_mismatch(self, log: Log) -> None:
        log.checkpoints[1] = sign_checkpoint(log.key, tree_size=20, root_hash="00" * 32)
        assert failure_of(verify(log)) == (20, "evt-0020", FailureReason.CHECKPOINT_ROOT_MISMATCH)

    def test_old_key_still_verifies_after_rotation(self, signing_key: Ed25519PrivateKey) -> None:
        new_key = Ed25519PrivateKey.generate()
        log = build_log(30, 10, signing_key)
        log.checkpoints[2] = sign_checkpoint(new_key, tree_size=30, root_hash=log.checkpoints[2].root_hash)
        assert verify(log, keys=[signing_key.public_key(), new_key.public_key()]).ok
        assert failure_of(verify(log))[2] is FailureReason.BAD_SIGNATURE

    def test_checkpoints_may_arrive_in_any_order(self, log: Log) -> None:
        log.checkpoints.reverse()
        assert verify(log).ok
