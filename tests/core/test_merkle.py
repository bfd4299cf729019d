"""RFC 9162 Merkle tree: published vectors, a naive reference, tampering and lookup counts."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.core import merkle
from parley.core.errors import InvalidEntryError, ProofRequestError, VerificationError
from parley.core.merkle import NodeId

# ---------------------------------------------------------------------------------------------
# Published RFC 6962 test vectors: the 8-leaf tree used by the Certificate Transparency
# implementations, as published in transparency-dev/merkle, proof/verify_test.go (variables
# `leaves`, `roots`, `inclusionProofs`, `consistencyProofs`). Upstream numbers leaves from 1 in
# its inclusion table; the indexes below are 0-based.
# ---------------------------------------------------------------------------------------------
VECTOR_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
VECTOR_ROOTS = [  # root of the tree of the first 1, 2, ..., 8 leaves
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
VECTOR_INCLUSION = [  # (0-based index, tree size, audit path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
VECTOR_CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# ---------------------------------------------------------------------------------------------
# A naive reference, written straight from the recursive definitions of RFC 9162 s2.1.
# ---------------------------------------------------------------------------------------------
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: Sequence[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return hashlib.sha256(b"\x01" + ref_mth(hashes[:k]) + ref_mth(hashes[k:])).digest()


def ref_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    n = len(hashes)
    if n <= 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, hashes[:k]) + [ref_mth(hashes[k:])]
    return ref_path(m - k, hashes[k:]) + [ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [ref_mth(hashes)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, hashes[:k], complete) + [ref_mth(hashes[k:])]
    return ref_subproof(m - k, hashes[k:], False) + [ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    return [] if m in (0, len(hashes)) else ref_subproof(m, hashes, True)


def path_shape(m: int, n: int) -> tuple[str, ...]:
    """Which side each element of PATH(m, D[n]) sits on: the proof's whole structure."""
    if n <= 1:
        return ()
    k = _k(n)
    return path_shape(m, k) + ("R",) if m < k else path_shape(m - k, n - k) + ("L",)


def proof_shape(m: int, n: int, complete: bool = True) -> tuple[str, ...]:
    """The structure of SUBPROOF(m, D[n], complete): sides, and where the old subtree stands."""
    if m == n:
        return () if complete else ("old",)
    k = _k(n)
    if m <= k:
        return proof_shape(m, k, complete) + ("R",)
    return proof_shape(m - k, n - k, False) + ("L",)


# ---------------------------------------------------------------------------------------------
# A node table filled the way the store fills it: append_leaf, one leaf at a time.
# ---------------------------------------------------------------------------------------------
class NodeTable:
    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.nodes: dict[NodeId, bytes] = {}
        self.calls: list[list[NodeId]] = []
        for index, leaf in enumerate(leaf_hashes):
            self.nodes.update(merkle.append_leaf(index, leaf, self.nodes.__getitem__))

    def get_nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        self.calls.append(list(ids))
        return {node: self.nodes[node] for node in ids}


REF_SIZE = 300
REF_LEAVES = [merkle.leaf_hash(b"entry %d" % i) for i in range(REF_SIZE)]
REF_TABLE = NodeTable(REF_LEAVES)
VECTOR_TABLE = NodeTable([merkle.leaf_hash(leaf) for leaf in VECTOR_LEAVES])


def _flip(data: bytes, bit: int) -> bytes:
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _hexes(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


# ---------------------------------------------------------------------------------------------
# Hashing and the published vectors
# ---------------------------------------------------------------------------------------------
def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert merkle.EMPTY_ROOT.hex() == EMPTY_SHA256
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    left, right = b"a" * 32, b"b" * 32
    assert merkle.node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle.leaf_hash(left + right) != merkle.node_hash(left, right)


def test_roots_match_published_rfc6962_vectors() -> None:
    got = [merkle.root_hash(n, VECTOR_TABLE.get_nodes).hex() for n in range(1, 9)]
    assert got == VECTOR_ROOTS
    assert merkle.root_hash(0, VECTOR_TABLE.get_nodes) == merkle.EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "path"), VECTOR_INCLUSION)
def test_inclusion_proofs_match_published_vectors(index: int, size: int, path: list[str]) -> None:
    assert _hexes(merkle.inclusion_proof(index, size, VECTOR_TABLE.get_nodes)) == path
    leaf = merkle.leaf_hash(VECTOR_LEAVES[index])
    root = bytes.fromhex(VECTOR_ROOTS[size - 1])
    merkle.verify_inclusion(leaf, index, size, [bytes.fromhex(h) for h in path], root)


@pytest.mark.parametrize(("first", "second", "proof"), VECTOR_CONSISTENCY)
def test_consistency_proofs_match_published_vectors(
    first: int, second: int, proof: list[str]
) -> None:
    assert _hexes(merkle.consistency_proof(first, second, VECTOR_TABLE.get_nodes)) == proof
    first_root = bytes.fromhex(VECTOR_ROOTS[first - 1])
    second_root = bytes.fromhex(VECTOR_ROOTS[second - 1])
    merkle.verify_consistency(
        first, second, first_root, second_root, [bytes.fromhex(h) for h in proof]
    )


@pytest.mark.parametrize(("index", "size", "path"), [v for v in VECTOR_INCLUSION if v[2]])
def test_published_inclusion_proofs_refuse_every_corruption(
    index: int, size: int, path: list[str]
) -> None:
    proof = [bytes.fromhex(h) for h in path]
    leaf = merkle.leaf_hash(VECTOR_LEAVES[index])
    root = bytes.fromhex(VECTOR_ROOTS[size - 1])
    other = hashlib.sha256(b"some other hash").digest()
    probes = [
        (leaf, index - 1, size, proof, root),
        (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root),
        (leaf, index, size // 2, proof, root),
        (merkle.leaf_hash(b"wrong leaf"), index, size, proof, root),
        (leaf, index, size, proof, merkle.EMPTY_ROOT),
        (leaf, index, size, proof, other),
        (leaf, index, size, [*proof, root], root),
        (leaf, index, size, [root, *proof], root),
        (leaf, index, size, [*proof, b""], root),
        (leaf, index, size, proof[:-1], root),
        (leaf, index, size, [proof[0], other, *proof[1:]], root),
    ]
    for i in range(len(proof)):
        probes.append((leaf, index, size, [*proof[:i], _flip(proof[i], 3), *proof[i + 1 :]], root))
    for probe in probes:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(*probe)


@pytest.mark.parametrize(("first", "second", "path"), [v for v in VECTOR_CONSISTENCY if v[2]])
def test_published_consistency_proofs_refuse_every_corruption(
    first: int, second: int, path: list[str]
) -> None:
    proof = [bytes.fromhex(h) for h in path]
    root1 = bytes.fromhex(VECTOR_ROOTS[first - 1])
    root2 = bytes.fromhex(VECTOR_ROOTS[second - 1])
    probes = [
        (first - 1, second, root1, root2, proof),
        (first + 1, second, root1, root2, proof),
        (first ^ 2, second, root1, root2, proof),
        (first, second * 2, root1, root2, proof),
        (first, second // 2, root1, root2, proof),
        (first, second, merkle.EMPTY_ROOT, root2, proof),
        (first, second, root1, merkle.EMPTY_ROOT, proof),
        (first, second, root2, root1, proof),
        (first, second, root1, root2, []),
        (first, second, root1, root2, [*proof, root1]),
        (first, second, root1, root2, [*proof, root2]),
        (first, second, root1, root2, [root1, *proof]),
        (first, second, root1, root2, [proof[0], *proof]),
        (first, second, root1, root2, proof[:-1]),
    ]
    for i in range(len(proof)):
        probes.append(
            (first, second, root1, root2, [*proof[:i], _flip(proof[i], 4), *proof[i + 1 :]])
        )
    for probe in probes:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(*probe)


# ---------------------------------------------------------------------------------------------
# Node ids, appends and the frontier
# ---------------------------------------------------------------------------------------------
def test_range_nodes_splits_into_maximal_aligned_perfect_subtrees() -> None:
    assert merkle.range_nodes(0, 0) == []
    assert merkle.range_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert merkle.range_nodes(3, 13) == [(0, 3), (2, 1), (2, 2), (0, 12)]
    assert merkle.range_nodes(8, 16) == [(3, 1)]


@given(st.integers(0, 5000), st.integers(0, 5000))
def test_range_nodes_covers_the_range_with_aligned_maximal_nodes(a: int, b: int) -> None:
    start, end = min(a, b), max(a, b)
    nodes = merkle.range_nodes(start, end)
    position = start
    for level, index in nodes:
        assert index << level == position  # contiguous, left to right, aligned by construction
        parent_start = (index >> 1) << (level + 1)
        assert not (parent_start >= start and parent_start + (2 << level) <= end)  # maximal
        position += 1 << level
    assert position == end
    assert len(nodes) <= 2 * max(1, (end - start).bit_length())


def test_nodes_completed_by_append_are_the_new_perfect_subtrees() -> None:
    assert merkle.nodes_completed_by_append(0) == [(0, 0)]
    assert merkle.nodes_completed_by_append(1) == [(0, 1), (1, 0)]
    assert merkle.nodes_completed_by_append(6) == [(0, 6)]
    assert merkle.nodes_completed_by_append(7) == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert merkle.nodes_completed_by_append(11) == [(0, 11), (1, 5), (2, 2)]


def test_append_leaf_stores_exactly_the_perfect_subtrees_with_their_hashes() -> None:
    size = 37
    table = NodeTable(REF_LEAVES[:size])
    expected = {
        (level, index) for level in range(size.bit_length()) for index in range(size >> level)
    }
    assert set(table.nodes) == expected
    for (level, index), value in table.nodes.items():
        assert value == ref_mth(REF_LEAVES[index << level : (index + 1) << level])


def test_append_leaf_refuses_a_leaf_that_is_not_a_hash() -> None:
    with pytest.raises(InvalidEntryError, match="32 bytes"):
        no_nodes: dict[NodeId, bytes] = {}
        merkle.append_leaf(0, b"short", no_nodes.__getitem__)
    with pytest.raises(InvalidEntryError, match="index"):
        merkle.nodes_completed_by_append(-1)


def test_hash_of_nodes_folds_the_frontier_into_the_root() -> None:
    for size in (1, 2, 3, 5, 8, 13, 255, 256, 257, 300):
        frontier = [REF_TABLE.nodes[node] for node in merkle.range_nodes(0, size)]
        assert merkle.hash_of_nodes(frontier) == ref_mth(REF_LEAVES[:size])
    assert merkle.hash_of_nodes([]) == merkle.EMPTY_ROOT


# ---------------------------------------------------------------------------------------------
# Property tests against the reference (sizes up to 300)
# ---------------------------------------------------------------------------------------------
sizes = st.integers(1, REF_SIZE)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(sizes)
    return draw(st.integers(0, size - 1)), size


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(2, REF_SIZE))
    return draw(st.integers(1, second - 1)), second


@given(st.integers(0, REF_SIZE))
def test_root_hash_equals_the_reference_mth(size: int) -> None:
    assert merkle.root_hash(size, REF_TABLE.get_nodes) == ref_mth(REF_LEAVES[:size])


@settings(deadline=None)
@given(index_and_size())
def test_inclusion_proof_equals_the_reference_path_and_verifies(case: tuple[int, int]) -> None:
    index, size = case
    proof = merkle.inclusion_proof(index, size, REF_TABLE.get_nodes)
    assert proof == ref_path(index, REF_LEAVES[:size])
    root = ref_mth(REF_LEAVES[:size])
    merkle.verify_inclusion(REF_LEAVES[index], index, size, proof, root)
    assert merkle.root_from_inclusion(REF_LEAVES[index], index, size, proof) == root


@settings(deadline=None)
@given(two_sizes())
def test_consistency_proof_equals_the_reference_proof_and_verifies(case: tuple[int, int]) -> None:
    first, second = case
    proof = merkle.consistency_proof(first, second, REF_TABLE.get_nodes)
    assert proof == ref_proof(first, REF_LEAVES[:second])
    first_root, second_root = ref_mth(REF_LEAVES[:first]), ref_mth(REF_LEAVES[:second])
    merkle.verify_consistency(first, second, first_root, second_root, proof)


@settings(deadline=None)
@given(index_and_size(), st.data())
def test_inclusion_verification_fails_on_any_flipped_bit_of_proof_leaf_or_root(
    case: tuple[int, int], data: st.DataObject
) -> None:
    index, size = case
    proof = merkle.inclusion_proof(index, size, REF_TABLE.get_nodes)
    leaf, root = REF_LEAVES[index], ref_mth(REF_LEAVES[:size])
    target = data.draw(st.integers(0, len(proof) + 1), label="which hash")
    bit = data.draw(st.integers(0, 255), label="bit")
    if target < len(proof):
        proof = [*proof[:target], _flip(proof[target], bit), *proof[target + 1 :]]
    elif target == len(proof):
        leaf = _flip(leaf, bit)
    else:
        root = _flip(root, bit)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(leaf, index, size, proof, root)


@settings(deadline=None)
@given(index_and_size(), st.integers(0, 20))
def test_inclusion_verification_fails_on_any_flipped_bit_of_the_index(
    case: tuple[int, int], bit: int
) -> None:
    index, size = case
    proof = merkle.inclusion_proof(index, size, REF_TABLE.get_nodes)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(
            REF_LEAVES[index], index ^ (1 << bit), size, proof, ref_mth(REF_LEAVES[:size])
        )


@settings(deadline=None)
@given(index_and_size(), st.integers(0, 20))
def test_inclusion_proof_binds_the_size_up_to_an_identical_proof_shape(
    case: tuple[int, int], bit: int
) -> None:
    # An RFC 9162 inclusion proof commits to the size only through the root: a flipped size is
    # accepted exactly when its audit path has the same structure (then the computation is the
    # same). Checkpoints sign the size next to the root, so this is no weakness in Parley.
    index, size = case
    other = size ^ (1 << bit)
    proof = merkle.inclusion_proof(index, size, REF_TABLE.get_nodes)
    same_shape = index < other and path_shape(index, other) == path_shape(index, size)
    try:
        merkle.verify_inclusion(REF_LEAVES[index], index, other, proof, ref_mth(REF_LEAVES[:size]))
    except VerificationError:
        assert not same_shape
    else:
        assert same_shape


@settings(deadline=None)
@given(two_sizes(), st.data())
def test_consistency_verification_fails_on_any_flipped_bit_of_proof_or_roots(
    case: tuple[int, int], data: st.DataObject
) -> None:
    first, second = case
    proof = merkle.consistency_proof(first, second, REF_TABLE.get_nodes)
    roots = [ref_mth(REF_LEAVES[:first]), ref_mth(REF_LEAVES[:second])]
    target = data.draw(st.integers(0, len(proof) + 1), label="which hash")
    bit = data.draw(st.integers(0, 255), label="bit")
    if target < len(proof):
        proof = [*proof[:target], _flip(proof[target], bit), *proof[target + 1 :]]
    else:
        roots[target - len(proof)] = _flip(roots[target - len(proof)], bit)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(first, second, roots[0], roots[1], proof)


@settings(deadline=None)
@given(two_sizes(), st.booleans(), st.integers(0, 20))
def test_consistency_proof_binds_the_sizes_up_to_an_identical_proof_shape(
    case: tuple[int, int], flip_first: bool, bit: int
) -> None:
    first, second = case
    proof = merkle.consistency_proof(first, second, REF_TABLE.get_nodes)
    roots = ref_mth(REF_LEAVES[:first]), ref_mth(REF_LEAVES[:second])
    sizes_ = (first ^ (1 << bit), second) if flip_first else (first, second ^ (1 << bit))
    same_shape = 0 < sizes_[0] < sizes_[1] and proof_shape(*sizes_) == proof_shape(first, second)
    try:
        merkle.verify_consistency(sizes_[0], sizes_[1], roots[0], roots[1], proof)
    except VerificationError:
        assert not same_shape
    else:
        assert same_shape


def test_consistency_proof_rejects_rewritten_history() -> None:
    honest = REF_LEAVES[:20]
    rewritten = [*honest[:7], merkle.leaf_hash(b"rewritten entry 7"), *honest[8:]]
    forged = NodeTable(rewritten)
    old_root = ref_mth(honest[:10])
    new_root = ref_mth(rewritten)
    proof = merkle.consistency_proof(10, 20, forged.get_nodes)
    with pytest.raises(VerificationError, match="size 10"):
        merkle.verify_consistency(10, 20, old_root, new_root, proof)
    honest_proof = merkle.consistency_proof(10, 20, REF_TABLE.get_nodes)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(10, 20, old_root, new_root, honest_proof)


def test_same_size_with_two_roots_is_reported_as_two_histories() -> None:
    root_a, root_b = ref_mth(REF_LEAVES[:5]), ref_mth(REF_LEAVES[1:6])
    merkle.verify_consistency(5, 5, root_a, root_a, [])
    with pytest.raises(VerificationError, match="two histories"):
        merkle.verify_consistency(5, 5, root_a, root_b, [])
    with pytest.raises(VerificationError, match="empty"):
        merkle.verify_consistency(5, 5, root_a, root_a, [root_a])


def test_growth_from_the_empty_tree_needs_the_empty_root_and_no_proof() -> None:
    root = ref_mth(REF_LEAVES[:9])
    merkle.verify_consistency(0, 9, merkle.EMPTY_ROOT, root, [])
    assert merkle.consistency_proof(0, 9, REF_TABLE.get_nodes) == []
    with pytest.raises(VerificationError, match="empty root"):
        merkle.verify_consistency(0, 9, root, root, [])
    with pytest.raises(VerificationError, match="must be empty"):
        merkle.verify_consistency(0, 9, merkle.EMPTY_ROOT, root, [root])


def test_shrinking_tree_is_refused() -> None:
    with pytest.raises(VerificationError, match="do not grow"):
        merkle.verify_consistency(9, 5, ref_mth(REF_LEAVES[:9]), ref_mth(REF_LEAVES[:5]), [])


def test_verification_refuses_hashes_of_the_wrong_length() -> None:
    root = ref_mth(REF_LEAVES[:2])
    with pytest.raises(VerificationError, match="leaf hash must be 32 bytes"):
        merkle.verify_inclusion(b"", 0, 1, [], root)
    with pytest.raises(VerificationError, match="root hash must be 32 bytes"):
        merkle.verify_inclusion(REF_LEAVES[0], 0, 1, [], root[:31])
    with pytest.raises(VerificationError, match="element 0 must be 32 bytes"):
        merkle.verify_inclusion(REF_LEAVES[0], 0, 2, [REF_LEAVES[1] + b"\x00"], root)
    with pytest.raises(VerificationError, match="element 0 must be 32 bytes"):
        merkle.verify_consistency(1, 2, REF_LEAVES[0], root, [b"x"])


# ---------------------------------------------------------------------------------------------
# One batched lookup of O(log n) nodes per proof
# ---------------------------------------------------------------------------------------------
class CountingFakeTable:
    """Deterministic fake hashes for any node id: counts lookups, builds no tree."""

    def __init__(self) -> None:
        self.calls: list[list[NodeId]] = []

    def get_nodes(self, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        self.calls.append(list(ids))
        return {node: hashlib.sha256(repr(node).encode()).digest() for node in ids}


def _bound(n: int) -> int:
    return 2 * math.ceil(math.log2(n))


@pytest.mark.parametrize(
    "index", [0, 1, 2, 3, 500_000, 524_287, 524_288, 777_777, 999_998, 999_999]
)
def test_inclusion_proof_in_a_million_leaves_makes_one_lookup_of_log_n_nodes(index: int) -> None:
    n = 1_000_000
    table = CountingFakeTable()
    proof = merkle.inclusion_proof(index, n, table.get_nodes)
    assert len(table.calls) == 1
    ids = table.calls[0]
    assert len(ids) == len(set(ids)) <= _bound(n)
    assert len(proof) <= math.ceil(math.log2(n))


@pytest.mark.parametrize("first", [1, 2, 3, 4, 5, 65_536, 333_333, 524_288, 524_289, 999_999])
def test_consistency_proof_to_a_million_leaves_makes_one_lookup_of_log_n_nodes(first: int) -> None:
    n = 1_000_000
    table = CountingFakeTable()
    proof = merkle.consistency_proof(first, n, table.get_nodes)
    assert len(table.calls) == 1
    ids = table.calls[0]
    assert len(ids) == len(set(ids)) <= _bound(n)
    assert len(proof) <= math.ceil(math.log2(n)) + 1


def test_root_of_a_million_leaves_is_one_lookup_of_its_frontier() -> None:
    table = CountingFakeTable()
    merkle.root_hash(1_000_000, table.get_nodes)
    assert len(table.calls) == 1
    assert len(table.calls[0]) == bin(1_000_000).count("1")


def test_every_proof_up_to_size_128_makes_one_lookup_within_the_bound() -> None:
    for n in range(2, 129):
        for index in range(n):
            table = CountingFakeTable()
            merkle.inclusion_proof(index, n, table.get_nodes)
            assert len(table.calls) == 1 and len(table.calls[0]) <= _bound(n)
        for first in range(1, n):
            table = CountingFakeTable()
            merkle.consistency_proof(first, n, table.get_nodes)
            assert len(table.calls) == 1 and len(table.calls[0]) <= _bound(n)


def test_trivial_proofs_make_no_lookup() -> None:
    table = CountingFakeTable()
    assert merkle.inclusion_proof(0, 1, table.get_nodes) == []
    assert merkle.consistency_proof(0, 7, table.get_nodes) == []
    assert merkle.consistency_proof(7, 7, table.get_nodes) == []
    assert merkle.root_hash(0, table.get_nodes) == merkle.EMPTY_ROOT
    assert table.calls == []


# ---------------------------------------------------------------------------------------------
# Bad requests
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("index", "size"), [(5, 5), (6, 5), (-1, 5), (0, 0), (0, -1)])
def test_out_of_range_inclusion_request_names_the_valid_range(index: int, size: int) -> None:
    with pytest.raises(ProofRequestError, match=r"index .* size .*0 <= index <= size - 1"):
        merkle.inclusion_proof(index, size, REF_TABLE.get_nodes)


@pytest.mark.parametrize(("first", "second"), [(6, 5), (-1, 5), (0, -1), (-3, -2)])
def test_out_of_range_consistency_request_names_the_valid_range(first: int, second: int) -> None:
    with pytest.raises(ProofRequestError, match=r"first .* second .*0 <= first <= second"):
        merkle.consistency_proof(first, second, REF_TABLE.get_nodes)


def test_out_of_range_root_and_range_requests_are_refused() -> None:
    with pytest.raises(ProofRequestError, match="size >= 0"):
        merkle.root_hash(-1, REF_TABLE.get_nodes)
    with pytest.raises(ProofRequestError, match="0 <= start <= end"):
        merkle.range_nodes(5, 3)


def test_a_node_missing_from_the_store_is_a_proof_request_error() -> None:
    def incomplete(ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
        return {node: REF_TABLE.nodes[node] for node in ids[1:]}

    with pytest.raises(ProofRequestError, match=r"no stored hash for node \("):
        merkle.inclusion_proof(3, 10, incomplete)
    with pytest.raises(ProofRequestError, match="no stored hash"):
        merkle.root_hash(10, lambda ids: {})
