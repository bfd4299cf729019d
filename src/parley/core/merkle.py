"""The Merkle tree of a Parley log (RFC 9162 section 2.1), with proofs from stored subtree hashes.

Implements the Merkle Tree Hash MTH (RFC 9162 s2.1.1), inclusion proofs (s2.1.3.1 PATH, verified by
the algorithm of s2.1.3.2) and consistency proofs (s2.1.4.1 PROOF/SUBPROOF, verified by the
algorithm of s2.1.4.2).

Storage model. The store keeps the hash of every *perfect* subtree the log has completed, named by
a ``NodeId`` ``(level, index)`` that covers leaves ``[index * 2**level, (index + 1) * 2**level)``.
Every range the RFC's recursive definitions hash is aligned, so it splits into at most
``log2(n) + 1`` perfect subtrees (``range_nodes``) whose hashes fold back into its MTH
(``hash_of_nodes``). A root or a proof therefore needs O(log n) stored hashes, fetched in one
batched ``GetNodes`` call, and never rehashes a leaf. ``append_leaf`` computes the nodes that a new
leaf completes, so the store can keep the table up to date as the log grows.

Security invariants:

* Leaves and interior nodes are domain-separated (``LEAF_PREFIX``, ``NODE_PREFIX``), so a leaf can
  never be passed off as an interior node or the reverse (RFC 9162 s2.1.1).
* Verification fails closed with ``VerificationError``: every hash must be 32 bytes, sizes and
  indexes must be in range and the proof must have exactly the length its sizes imply.
* A proof binds a leaf (or an older root) to a root; it binds the tree *size* only through that
  root: two sizes whose proofs have the same shape verify alike. Roots must therefore come from a
  signed checkpoint that states the size (see ``parley.core.checkpoint``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from parley.core.errors import InvalidEntryError, ProofRequestError, VerificationError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "GetNode",
    "GetNodes",
    "NodeId",
    "append_leaf",
    "consistency_proof",
    "hash_of_nodes",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "nodes_completed_by_append",
    "range_nodes",
    "root_from_inclusion",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
LEAF_PREFIX: Final = b"\x00"
NODE_PREFIX: Final = b"\x01"
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""MTH of the empty tree: the hash of the empty string (RFC 9162 s2.1.1)."""

NodeId = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``[index * 2**level, (index+1) * 2**level)``.

The ids of one level are numbered from the left, starting at 0.
"""

GetNodes = Callable[[Sequence[NodeId]], Mapping[NodeId, bytes]]
"""One batched lookup of stored subtree hashes; must return every requested id."""

GetNode = Callable[[NodeId], bytes]
"""A lookup of one stored subtree hash."""


def leaf_hash(leaf_input: bytes) -> bytes:
    """MTH of a one-leaf tree: SHA-256(0x00 || leaf_input)."""
    return hashlib.sha256(LEAF_PREFIX + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The RFC's k: the largest power of two smaller than ``n`` (for n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """Split leaves ``[start, end)`` into maximal aligned perfect subtrees, left to right.

    For ``start == 0`` this is the frontier of the tree of size ``end``.
    """
    if not 0 <= start <= end:
        raise ProofRequestError(
            f"invalid leaf range [{start}, {end}): need 0 <= start <= end",
        )
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def hash_of_nodes(hashes: Sequence[bytes]) -> bytes:
    """Fold the hashes of a left-to-right decomposition (``range_nodes``) into the range's MTH.

    The RFC splits a range at its largest power of two, so its MTH nests to the right:
    ``node_hash(h0, node_hash(h1, ... node_hash(h_{n-2}, h_{n-1})))``. This holds for every range
    the RFC hashes (aligned to a power of two at least its length), prefixes ``[0, n)`` included.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _fetch(get_nodes: GetNodes, ids: Sequence[NodeId]) -> Mapping[NodeId, bytes]:
    """Look up ``ids`` in one call and check that every hash came back, 32 bytes long."""
    if not ids:
        return {}
    found = get_nodes(ids)
    for node in ids:
        value = found.get(node)
        if value is None or len(value) != HASH_SIZE:
            level, index = node
            first = index << level
            raise ProofRequestError(
                f"no stored hash for node {node} (leaves [{first}, {first + (1 << level)}))",
                hint="the tree has not grown that far, or the node table is incomplete",
            )
    return found


def _hashes_of_ranges(ranges: Sequence[tuple[int, int]], get_nodes: GetNodes) -> list[bytes]:
    """MTH of each range, from one batched lookup of the stored subtrees that make them up."""
    decompositions = [range_nodes(start, end) for start, end in ranges]
    found = _fetch(get_nodes, [node for nodes in decompositions for node in nodes])
    return [hash_of_nodes([found[node] for node in nodes]) for nodes in decompositions]


def root_hash(size: int, get_nodes: GetNodes) -> bytes:
    """MTH of the first ``size`` leaves (``EMPTY_ROOT`` for 0)."""
    if size < 0:
        raise ProofRequestError(f"invalid tree size {size}: need size >= 0")
    return _hashes_of_ranges([(0, size)], get_nodes)[0] if size else EMPTY_ROOT


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Ranges whose MTHs make up PATH(index, D[0:size]) (RFC 9162 s2.1.3.1), leaf first."""
    ranges: list[tuple[int, int]] = []
    low, high = 0, size
    while high - low > 1:
        k = _split(high - low)
        if index < low + k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
    ranges.reverse()
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """Ranges whose MTHs make up PROOF(first, D[0:second]) (RFC 9162 s2.1.4.1), deepest first."""
    ranges: list[tuple[int, int]] = []
    low, high, whole_old_tree = 0, second, True
    while first - low != high - low:
        k = _split(high - low)
        if first - low <= k:
            ranges.append((low + k, high))
            high = low + k
        else:
            ranges.append((low, low + k))
            low += k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((low, high))
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, size: int, get_nodes: GetNodes) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 s2.1.3.1)."""
    if size < 1 or not 0 <= index < size:
        raise ProofRequestError(
            f"invalid inclusion proof request: index {index} in a tree of size {size}; "
            f"need size >= 1 and 0 <= index <= size - 1",
        )
    return _hashes_of_ranges(_inclusion_ranges(index, size), get_nodes)


def consistency_proof(first: int, second: int, get_nodes: GetNodes) -> list[bytes]:
    """The consistency proof from tree size ``first`` to ``second`` (RFC 9162 s2.1.4.1)."""
    if first < 0 or second < 0 or first > second:
        raise ProofRequestError(
            f"invalid consistency proof request: first {first}, second {second}; "
            f"need 0 <= first <= second",
        )
    if first in (0, second):
        return []
    return _hashes_of_ranges(_consistency_ranges(first, second), get_nodes)


def nodes_completed_by_append(index: int) -> list[NodeId]:
    """The perfect subtrees that appending leaf number ``index`` completes, bottom-up."""
    if index < 0:
        raise InvalidEntryError(f"invalid leaf index {index}: need index >= 0")
    nodes = [(0, index)]
    level = 0
    while (index >> level) & 1:
        level += 1
        nodes.append((level, index >> level))
    return nodes


def append_leaf(index: int, leaf: bytes, get_node: GetNode) -> list[tuple[NodeId, bytes]]:
    """The ``(node id, hash)`` pairs, bottom-up, completed by appending leaf hash ``leaf``.

    ``get_node`` supplies the stored left siblings; the leaf's own id comes first.
    """
    if len(leaf) != HASH_SIZE:
        raise InvalidEntryError(f"a leaf hash is {HASH_SIZE} bytes, got {len(leaf)}")
    nodes = nodes_completed_by_append(index)
    completed: list[tuple[NodeId, bytes]] = [(nodes[0], leaf)]
    current = leaf
    for level, position in nodes[1:]:
        left = get_node((level - 1, 2 * position))
        if len(left) != HASH_SIZE:
            raise InvalidEntryError(f"stored node {(level - 1, 2 * position)} is not a hash")
        current = node_hash(left, current)
        completed.append(((level, position), current))
    return completed


def _check_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for leaf hash ``leaf`` at ``index`` (RFC 9162 s2.1.3.2)."""
    _check_hash("leaf hash", leaf)
    if not 0 <= index < size:
        raise VerificationError(
            f"leaf index {index} is outside a tree of size {size} (need 0 <= index < size)",
        )
    expected = len(_inclusion_ranges(index, size))
    if len(proof) != expected:
        raise VerificationError(
            f"inclusion proof for index {index} in size {size} must have {expected} hashes, "
            f"got {len(proof)}",
        )
    fn, sn, result = index, size - 1, leaf
    for position, sibling in enumerate(proof):
        _check_hash(f"inclusion proof element {position}", sibling)
        if sn == 0:
            raise VerificationError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf hash ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``."""
    _check_hash("root hash", root)
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise VerificationError(
            f"inclusion proof fails: leaf {index} is not in the tree of size {size} with this root",
        )


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``second_root`` of size ``second`` extends ``first_root`` of ``first``.

    RFC 9162 s2.1.4.2, with the trivial cases made explicit: equal sizes need equal roots and an
    empty proof; size 0 needs the empty root and an empty proof.
    """
    _check_hash("first root", first_root)
    _check_hash("second root", second_root)
    for position, element in enumerate(proof):
        _check_hash(f"consistency proof element {position}", element)
    if not 0 <= first <= second:
        raise VerificationError(
            f"tree sizes {first} -> {second} do not grow (need 0 <= first <= second)",
        )
    if first in (0, second):
        if proof:
            raise VerificationError(
                f"consistency proof from size {first} to {second} must be empty",
            )
        if first == 0 and first_root != EMPTY_ROOT:
            raise VerificationError("a tree of size 0 must have the empty root")
        if first == second and first_root != second_root:
            raise VerificationError(
                f"two different roots for tree size {first}: the log shows two histories",
            )
        return
    expected = len(_consistency_ranges(first, second))
    if len(proof) != expected:
        raise VerificationError(
            f"consistency proof from size {first} to {second} must have {expected} hashes, "
            f"got {len(proof)}",
        )
    first_computed, second_computed = _roots_from_consistency(first, second, first_root, proof)
    if first_computed != first_root:
        raise VerificationError(
            f"consistency proof fails: it does not lead to the root of size {first}",
        )
    if second_computed != second_root:
        raise VerificationError(
            f"consistency proof fails: the tree of size {second} does not extend "
            f"the tree of size {first}",
        )


def fork_root(first: int, second: int, proof: Sequence[bytes], second_root: bytes) -> bytes | None:
    """The root at ``first`` that a consistency proof binds ``second_root`` to, if it pins one.

    RFC 9162 s2.1.4.2: unless ``first`` is a power of two (then the proof omits the old root),
    the proof alone yields the old root it leads from. When it also reproduces ``second_root``,
    that tree of size ``second`` extends exactly this root at ``first`` (SHA-256 collision
    resistance): the material of equivocation evidence (``parley.core.equivocation``). None
    when the proof pins no old root or does not lead to ``second_root``.
    """
    if not 0 < first < second or first & (first - 1) == 0:
        return None
    try:
        for position, element in enumerate(proof):
            _check_hash(f"consistency proof element {position}", element)
        if len(proof) != len(_consistency_ranges(first, second)):
            return None
        first_computed, second_computed = _roots_from_consistency(first, second, b"", proof)
    except VerificationError:
        return None
    return first_computed if second_computed == second_root else None


def _roots_from_consistency(
    first: int, second: int, first_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """The (first, second) roots a consistency proof implies (RFC 9162 s2.1.4.2 steps 2-6)."""
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_computed = second_computed = path[0]
    for element in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            first_computed = node_hash(element, first_computed)
            second_computed = node_hash(element, second_computed)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_computed = node_hash(second_computed, element)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError("consistency proof is shorter than the tree is deep")
    return first_computed, second_computed
