"""RFC 9162 (Certificate Transparency 2.0) §2.1 Merkle trees: hashes, proofs
and their verification. Pure functions, no Django: the stored tree
(audit/tree.py), the checkpoint task and the offline verifier share them.

Proofs are written against a ``subtree(start, end) -> bytes`` source giving
MTH(D[start:end]). Every range the RFC's PATH and SUBPROOF ask for is either
a complete subtree aligned on its size or the right edge of one, so a source
backed by stored perfect subtrees answers each in O(log n) lookups; the
``*_ranges`` functions name the ranges first so they can be fetched at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Subtree = Callable[[int, int], bytes]
Range = tuple[int, int]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """k, the largest power of two smaller than n (n ≥ 2), §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaves (the row hashes, not yet leaf-hashed)."""
    if not leaves:
        return EMPTY_ROOT
    level = [leaf_hash(x) for x in leaves]
    # bottom-up pairing gives the §2.1.1 split: an odd node is promoted
    # unchanged, which is what putting the largest power of two on the left does
    while len(level) > 1:
        paired = [
            node_hash(a, b) for a, b in zip(level[::2], level[1::2], strict=False)
        ]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def perfect_ranges(start: int, end: int) -> list[Range]:
    """[start, end) cut into complete subtrees aligned on their size, left to
    right and largest first, as §2.1.1's split cuts it. ``start`` must be
    aligned on a power of two at least ``end - start`` (or be 0), which every
    range PATH and SUBPROOF ask for is."""
    out: list[Range] = []
    at = start
    size = end - start
    while size:
        chunk = 1 << (size.bit_length() - 1)
        if at % chunk:
            raise ValueError(f"range [{start}, {end}) is not aligned")
        out.append((at, at + chunk))
        at += chunk
        size -= chunk
    return out


def combine(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from its :func:`perfect_ranges` hashes: the smaller
    subtrees sit right of the larger ones, so the fold runs from the right."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(m: int, n: int) -> list[Range]:
    """The ranges whose MTHs make PATH(m, D[n]) (§2.1.3.1), leaf upwards."""
    if not 0 <= m < n:
        raise ValueError("need 0 <= m < n")
    start, end, out = 0, n, []
    while end - start > 1:
        k = split(end - start)
        if m - start < k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            start += k
    out.reverse()  # PATH lists the sibling nearest the leaf first
    return out


def consistency_ranges(m: int, n: int) -> list[Range]:
    """The ranges whose MTHs make PROOF(m, D[n]) (§2.1.4.1); empty when m == n."""
    if not 0 < m <= n:
        raise ValueError("need 0 < m <= n")
    out: list[Range] = []
    start, end, complete = 0, n, True
    # SUBPROOF(m, D[start:end], complete), its recursion unrolled: each step
    # appends one MTH after the deeper part, so collect outside-in and reverse
    while m != end - start:
        k = split(end - start)
        if m <= k:
            out.append((start + k, end))
            end = start + k
        else:
            out.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        out.append((start, end))
    out.reverse()
    return out


def inclusion_path(m: int, n: int, subtree: Subtree) -> list[bytes]:
    return [subtree(a, b) for a, b in inclusion_ranges(m, n)]


def consistency_proof(m: int, n: int, subtree: Subtree) -> list[bytes]:
    return [subtree(a, b) for a, b in consistency_ranges(m, n)]


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf: bytes, path: Sequence[bytes], root_: bytes
) -> bool:
    """§2.1.3.2, with ``leaf`` the entry (hashed here as a leaf)."""
    if not 0 <= leaf_index < tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_


def verify_consistency(
    first: int,
    second: int,
    first_hash: bytes,
    second_hash: bytes,
    proof: Sequence[bytes],
) -> bool:
    """§2.1.4.2. Equal sizes have the empty proof and equal roots."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
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
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0
