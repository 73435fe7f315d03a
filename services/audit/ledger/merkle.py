"""RFC 9162 Merkle tree over record hashes: roots, inclusion and consistency proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256  # bound once: append runs for every record of every verification


def leaf_hash(leaf: bytes) -> bytes:
    """HASH(0x00 || leaf), the domain-separated hash of one leaf."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right), the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleAccumulator:
    """Maintains the tree root as leaves arrive, keeping one hash per complete subtree."""

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._peaks: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """The number of leaves appended."""
        return self._size

    def append(self, leaf: bytes) -> None:
        """Add a leaf (a record's hash, raw bytes)."""
        node = _sha256(b"\x00" + leaf).digest()
        peaks = self._peaks
        # Each trailing 1 bit of the old size is a complete subtree of the same height to merge with.
        size = self._size
        while size & 1:
            node = _sha256(b"\x01" + peaks.pop() + node).digest()
            size >>= 1
        peaks.append(node)
        self._size += 1

    @property
    def peaks(self) -> tuple[bytes, ...]:
        """The complete subtrees' roots, largest first: with the size, all it takes to resume."""
        return tuple(self._peaks)

    @classmethod
    def resume(cls, size: int, peaks: Sequence[bytes]) -> MerkleAccumulator:
        """An accumulator picked up from a saved size and peaks, without re-reading every leaf."""
        if size < 0 or len(peaks) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {max(size, 0).bit_count()} peaks, not {len(peaks)}")
        accumulator = cls()
        accumulator._peaks = list(peaks)
        accumulator._size = size
        return accumulator

    def root(self) -> bytes:
        """MTH of the leaves so far; RFC 9162's left-heavy split folds the peaks from the right."""
        if not self._peaks:
            return EMPTY_ROOT
        peaks = self._peaks
        root = peaks[-1]
        for peak in reversed(peaks[:-1]):
            root = node_hash(peak, root)
        return root


def _subtree_root(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]) without copying the slice."""
    accumulator = MerkleAccumulator()
    for index in range(start, end):
        accumulator.append(leaves[index])
    return accumulator.root()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of all leaves."""
    return _subtree_root(leaves, 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < size <= len(leaves):
        raise ValueError(f"no leaf {index} in a tree of {size} (of {len(leaves)} leaves)")
    path: list[bytes] = []
    start, end = 0, size
    # Walk down from the root; siblings are collected top-down, the proof lists them bottom-up.
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append(_subtree_root(leaves, start + k, end))
            end = start + k
        else:
            path.append(_subtree_root(leaves, start, start + k))
            start += k
    path.reverse()
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: whether `leaf` is leaf `index` of the tree of `size` with `root`."""
    if index >= size or index < 0:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal)."""
    if not 0 < old_size <= new_size <= len(leaves):
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    path: list[bytes] = []
    m, start, end, complete = old_size, 0, new_size, True
    # SUBPROOF(m, D[start:end], complete), unrolled: each step descends into one side.
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            path.append(_subtree_root(leaves, start + k, end))
            end = start + k
        else:
            path.append(_subtree_root(leaves, start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        path.append(_subtree_root(leaves, start, end))
    path.reverse()
    return path


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether the tree of `old_size` is a prefix of the tree of `new_size`."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
