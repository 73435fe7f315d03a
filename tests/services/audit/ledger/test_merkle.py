"""RFC 9162 Merkle tree: roots, inclusion and consistency proofs against the RFC's definitions."""

from __future__ import annotations

import hashlib

import pytest

from services.audit.ledger.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    consistency_proof,
    inclusion_proof,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [hashlib.sha256(f"record {i}".encode()).digest() for i in range(21)]
SIZES = range(1, len(LEAVES))


def rfc_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) written as the RFC's recursive definition."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc_mth(d[:k]) + rfc_mth(d[k:])).digest()


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) as the RFC defines it."""
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) as the RFC defines it."""
    if m == len(d):
        return [] if b else [rfc_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


class TestRoot:
    def test_known_vectors(self) -> None:
        # The RFC 6962 / certificate-transparency reference inputs and their published roots.
        inputs = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243")]
        inputs += [bytes.fromhex("5051525354555657"), bytes.fromhex("606162636465666768696a6b6c6d6e6f")]
        roots = {
            1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        }
        for size, root in roots.items():
            assert merkle_root(inputs[:size]).hex() == root

    def test_empty_tree_is_hash_of_nothing(self) -> None:
        assert merkle_root([]) == EMPTY_ROOT == MerkleAccumulator().root()

    def test_accumulator_matches_definition_at_every_size(self) -> None:
        tree = MerkleAccumulator()
        for size, leaf in enumerate(LEAVES * 3, start=1):
            tree.append(leaf)
            assert tree.size == size
            assert tree.root() == rfc_mth((LEAVES * 3)[:size])

    def test_resumed_accumulator_goes_on_as_if_never_stopped(self) -> None:
        tree = MerkleAccumulator()
        for leaf in LEAVES[:13]:
            tree.append(leaf)
        resumed = MerkleAccumulator.resume(tree.size, tree.peaks)
        for leaf in LEAVES[13:]:
            resumed.append(leaf)
        assert resumed.root() == rfc_mth(LEAVES)

    def test_resume_refuses_peaks_that_do_not_fit_the_size(self) -> None:
        with pytest.raises(ValueError):
            MerkleAccumulator.resume(13, LEAVES[:2])


class TestInclusion:
    def test_every_index_of_every_size_proves_and_matches_rfc_path(self) -> None:
        for size in SIZES:
            root = merkle_root(LEAVES[:size])
            for index in range(size):
                proof = inclusion_proof(LEAVES, index, size)
                assert proof == rfc_path(index, LEAVES[:size])
                assert verify_inclusion(LEAVES[index], index, size, proof, root)

    def test_fails_on_wrong_root_leaf_index_or_path(self) -> None:
        for size in SIZES:
            root = merkle_root(LEAVES[:size])
            for index in range(size):
                proof = inclusion_proof(LEAVES, index, size)
                leaf = LEAVES[index]
                assert not verify_inclusion(leaf, index, size, proof, flipped(root))
                assert not verify_inclusion(LEAVES[20], index, size, proof, root)
                assert not verify_inclusion(leaf, size, size, proof, root)
                assert not verify_inclusion(leaf, index, size, [*proof, root], root)
                if proof:
                    assert not verify_inclusion(leaf, index, size, proof[:-1], root)
                    assert not verify_inclusion(leaf, index, size, [flipped(proof[0]), *proof[1:]], root)
                    assert not verify_inclusion(leaf, index ^ 1, size, proof, root)

    def test_refuses_an_index_outside_the_tree(self) -> None:
        with pytest.raises(ValueError):
            inclusion_proof(LEAVES, 5, 5)


class TestConsistency:
    def test_every_pair_of_sizes_proves_and_matches_rfc_proof(self) -> None:
        for new_size in SIZES:
            new_root = merkle_root(LEAVES[:new_size])
            for old_size in range(1, new_size + 1):
                proof = consistency_proof(LEAVES, old_size, new_size)
                assert proof == rfc_subproof(old_size, LEAVES[:new_size], True)
                old_root = merkle_root(LEAVES[:old_size])
                assert verify_consistency(old_size, new_size, old_root, new_root, proof)

    def test_fails_on_wrong_roots_sizes_or_path(self) -> None:
        for new_size in SIZES:
            new_root = merkle_root(LEAVES[:new_size])
            for old_size in range(1, new_size + 1):
                proof = consistency_proof(LEAVES, old_size, new_size)
                old_root = merkle_root(LEAVES[:old_size])
                assert not verify_consistency(old_size, new_size, flipped(old_root), new_root, proof)
                assert not verify_consistency(old_size, new_size, old_root, flipped(new_root), proof)
                assert not verify_consistency(old_size, new_size, old_root, new_root, [*proof, new_root])
                if proof:
                    assert not verify_consistency(old_size, new_size, old_root, new_root, proof[:-1])
                    bad = [*proof[:-1], flipped(proof[-1])]
                    assert not verify_consistency(old_size, new_size, old_root, new_root, bad)
                if old_size < new_size:
                    assert not verify_consistency(old_size, new_size, new_root, new_root, proof)

    def test_a_rewritten_history_is_not_consistent(self) -> None:
        forged = [*LEAVES[:3], hashlib.sha256(b"forged").digest(), *LEAVES[4:12]]
        proof = consistency_proof(forged, 6, 12)
        old_root = merkle_root(LEAVES[:6])
        assert not verify_consistency(6, 12, old_root, merkle_root(forged), proof)

    def test_refuses_sizes_out_of_order(self) -> None:
        with pytest.raises(ValueError):
            consistency_proof(LEAVES, 8, 4)
