"""The ledger's append-only Merkle tree, as RFC 9162 (Certificate Transparency v2) §2.1 defines it.

- leaf hash  = SHA-256(0x00 || leaf bytes)
- node hash  = SHA-256(0x01 || left || right)
- MTH({})    = SHA-256(""); MTH(D[n]) splits at k, the largest power of two smaller than n
- inclusion proofs (PATH) and consistency proofs (PROOF/SUBPROOF), and their verification
  algorithms (§2.1.3.2, §2.1.4.2).

Pure functions: no I/O. Hashes of whole ranges come from a ``perfect(level, index)`` source
(the hash of leaves ``[index * 2**level, (index + 1) * 2**level)``), so a tree kept in a table of
perfect subtrees answers any root or proof with O(log n) look-ups; :class:`Frontier` keeps the
perfect subtrees on the right edge, so an append costs O(log n) and yields the nodes it completes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ruralfund_common.merkle import leaf_hash, node_hash, verify_consistency, verify_inclusion

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "LeafHashes",
    "consistency_proof",
    "inclusion_proof",
    "largest_power_of_two_below",
    "leaf_hash",
    "mth",
    "node_hash",
    "range_hash",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
Perfect = Callable[[int, int], bytes]  # (level, index) -> hash of a perfect, aligned subtree


def largest_power_of_two_below(n: int) -> int:
    """k of the RFC: the largest power of two strictly smaller than ``n`` (n > 1)."""
    assert n > 1
    return 1 << ((n - 1).bit_length() - 1)


def _is_perfect(lo: int, hi: int) -> bool:
    size = hi - lo
    return size > 0 and size & (size - 1) == 0 and lo % size == 0


def range_hash(lo: int, hi: int, perfect: Perfect) -> bytes:
    """MTH(D[lo:hi]) for a range the RFC's recursion visits (its perfect parts are aligned)."""
    if hi == lo:
        return EMPTY_ROOT
    if _is_perfect(lo, hi):
        size = hi - lo
        return perfect(size.bit_length() - 1, lo // size)
    k = largest_power_of_two_below(hi - lo)
    return node_hash(range_hash(lo, lo + k, perfect), range_hash(lo + k, hi, perfect))


def inclusion_proof(index: int, size: int, perfect: Perfect) -> list[bytes]:
    """PATH(index, D[size]) (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    return _path(index, 0, size, perfect)


def _path(m: int, lo: int, hi: int, perfect: Perfect) -> list[bytes]:
    if hi - lo == 1:
        return []
    k = largest_power_of_two_below(hi - lo)
    if m < k:
        return _path(m, lo, lo + k, perfect) + [range_hash(lo + k, hi, perfect)]
    return _path(m - k, lo + k, hi, perfect) + [range_hash(lo, lo + k, perfect)]


def consistency_proof(first: int, second: int, perfect: Perfect) -> list[bytes]:
    """PROOF(first, D[second]) (RFC 9162 §2.1.4.1); empty when first is 0 or equals second."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    if first in (0, second):
        return []
    return _subproof(first, 0, second, True, perfect)


def _subproof(m: int, lo: int, hi: int, complete: bool, perfect: Perfect) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if complete else [range_hash(lo, hi, perfect)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return _subproof(m, lo, lo + k, complete, perfect) + [range_hash(lo + k, hi, perfect)]
    return _subproof(m - k, lo + k, hi, False, perfect) + [range_hash(lo, lo + k, perfect)]


@dataclass
class Frontier:
    """The perfect subtrees on the tree's right edge, largest first: ``size``'s binary digits.

    ``append`` adds a leaf hash and returns the (level, index, hash) of every perfect subtree of
    level >= 1 it completes, for a store of nodes; ``root`` is MTH of everything appended."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert len(self.hashes) == self.size.bit_count(), (
            "a frontier has one hash per set bit of its size"
        )

    @classmethod
    def levels_of(cls, size: int) -> list[tuple[int, int]]:
        """(level, index) of the frontier's subtrees for a tree of ``size``, largest first."""
        out, offset = [], 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                out.append((level, offset >> level))
                offset += 1 << level
        return out

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        completed: list[tuple[int, int, bytes]] = []
        h, index, level = leaf, self.size, 0
        while index & 1:  # the new leaf closes a perfect subtree for each trailing one bit
            h = node_hash(self.hashes.pop(), h)
            level, index = level + 1, index >> 1
            completed.append((level, index, h))
        self.hashes.append(h)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        r = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            r = node_hash(h, r)
        return r


class LeafHashes:
    """A whole tree in memory, from its leaf hashes: every perfect subtree computed once.
    What the verifier builds from the leaves it reads (never trusting stored nodes)."""

    def __init__(self, leaves: Iterable[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append(
                [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            )

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def perfect(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return range_hash(0, self.size if size is None else size, self.perfect)


def mth(leaves: Sequence[bytes]) -> bytes:
    """MTH over raw leaf data, straight from the RFC's recursive definition (the reference the
    faster forms are tested against)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = largest_power_of_two_below(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))
