"""The ledger's Merkle tree against RFC 9162 §2.1: roots, inclusion and consistency proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruralfund_funds.domain.merkle import (
    EMPTY_ROOT,
    Frontier,
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    mth,
    node_hash,
    verify_consistency,
    verify_inclusion,
)

# The test inputs of the Certificate Transparency reference implementation (RFC 6962/9162 trees)
# and the roots of their first n leaves.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_empty_tree_and_single_leaf_by_hand() -> None:
    assert (
        mth([])
        == EMPTY_ROOT
        == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )
    assert mth([b"a"]) == sha(b"\x00a")  # a leaf is prefixed 0x00: a leaf never equals a node


def test_three_leaves_by_hand() -> None:
    a, b, c = (sha(b"\x00" + x) for x in (b"a", b"b", b"c"))
    # k = 2 for n = 3: the left subtree is the perfect pair, the right one is the lone leaf
    assert mth([b"a", b"b", b"c"]) == sha(b"\x01" + sha(b"\x01" + a + b) + c)


@pytest.mark.parametrize("n", sorted(CT_ROOTS))
def test_certificate_transparency_reference_roots(n: int) -> None:
    assert mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n]
    assert LeafHashes(map(leaf_hash, CT_LEAVES)).root(n).hex() == CT_ROOTS[n]


def test_inclusion_and_consistency_by_hand() -> None:
    leaves = [leaf_hash(x) for x in (b"a", b"b", b"c", b"d", b"e")]
    tree = LeafHashes(leaves)
    # leaf 2 of 5: its sibling d, then the left pair (a,b), then the lone e
    proof = inclusion_proof(2, 5, tree.perfect)
    assert proof == [leaves[3], node_hash(leaves[0], leaves[1]), leaves[4]]
    assert verify_inclusion(leaves[2], 2, 5, proof, tree.root())
    # PROOF(3, D[5]) = c, d, (a,b), e (RFC 9162's own example shape: SUBPROOF down the left)
    assert consistency_proof(3, 5, tree.perfect) == [
        leaves[2],
        leaves[3],
        node_hash(leaves[0], leaves[1]),
        leaves[4],
    ]


trees = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_every_consistency_proof_between_m_and_n_verifies(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    m = data.draw(st.integers(0, n))
    tree = LeafHashes(map(leaf_hash, leaves))
    proof = consistency_proof(m, n, tree.perfect)
    assert verify_consistency(m, n, mth(leaves[:m]), mth(leaves), proof)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_a_tampered_leaf_fails_the_consistency_proof(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    victim = data.draw(st.integers(0, m - 1))
    tampered = list(leaves)
    tampered[victim] = leaves[victim] + b"!"
    tree = LeafHashes(map(leaf_hash, tampered))  # the log as the attacker left it
    proof = consistency_proof(m, n, tree.perfect)
    assert not verify_consistency(m, n, mth(leaves[:m]), tree.root(), proof)


@settings(max_examples=150, deadline=None)
@given(trees, st.data())
def test_inclusion_proofs_verify_and_a_tampered_leaf_fails(
    leaves: list[bytes], data: st.DataObject
) -> None:
    n = len(leaves)
    i = data.draw(st.integers(0, n - 1))
    tree = LeafHashes(map(leaf_hash, leaves))
    proof = inclusion_proof(i, n, tree.perfect)
    assert verify_inclusion(leaf_hash(leaves[i]), i, n, proof, mth(leaves))
    assert not verify_inclusion(leaf_hash(leaves[i] + b"!"), i, n, proof, mth(leaves))
    if n > 1:
        assert not verify_inclusion(leaf_hash(leaves[i]), (i + 1) % n, n, proof, mth(leaves))


@settings(max_examples=100, deadline=None)
@given(trees, st.data())
def test_truncation_and_forged_extension_fail(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    m = data.draw(st.integers(1, n))
    checkpoint = mth(leaves[:m])
    truncated = LeafHashes(map(leaf_hash, leaves[: m - 1]))
    if m - 1 > 0:  # a log shorter than the checkpoint cannot prove it: even its own proof fails
        assert not verify_consistency(m - 1, n, checkpoint, truncated.root(), [])
    forged = [b"forged", *leaves[1:]]  # history rewritten before the checkpoint, then extended
    tree = LeafHashes(map(leaf_hash, forged))
    assert not verify_consistency(
        m, n, checkpoint, tree.root(), consistency_proof(m, n, tree.perfect)
    )


@settings(max_examples=100, deadline=None)
@given(trees)
def test_frontier_appends_give_every_root_and_every_perfect_node(leaves: list[bytes]) -> None:
    f = Frontier()
    nodes: dict[tuple[int, int], bytes] = {}
    for i, x in enumerate(leaves):
        for level, index, h in f.append(leaf_hash(x)):
            nodes[(level, index)] = h
        assert f.root() == mth(leaves[: i + 1])
    tree = LeafHashes(map(leaf_hash, leaves))
    assert nodes == {
        (lv, i): h for lv in range(1, len(tree.levels)) for i, h in enumerate(tree.levels[lv])
    }
    # a frontier rebuilt from stored perfect subtrees continues where the first left off
    again = Frontier(
        len(leaves), [tree.perfect(lv, i) for lv, i in Frontier.levels_of(len(leaves))]
    )
    assert again.root() == f.root()
    again.append(leaf_hash(b"next"))
    assert again.root() == mth([*leaves, b"next"])


def test_proofs_refuse_impossible_sizes() -> None:
    tree = LeafHashes([leaf_hash(b"a")])
    with pytest.raises(ValueError):
        inclusion_proof(1, 1, tree.perfect)
    with pytest.raises(ValueError):
        consistency_proof(2, 1, tree.perfect)
    assert not verify_consistency(2, 1, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_inclusion(leaf_hash(b"a"), 1, 1, [], tree.root())
