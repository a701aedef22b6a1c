"""audit.merkle against the independent RFC 9162 verifier (no database)."""

from __future__ import annotations

import hashlib

import pytest

from audit import merkle
from tests.audit import rfc9162

ENTRIES = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


def source(entries: list[bytes]) -> merkle.Subtree:
    return lambda a, b: rfc9162.mth(entries[a:b])


@pytest.mark.parametrize("n", [*range(1, 34), 63, 64, 65, 70])
def test_roots_and_proofs(n: int) -> None:
    entries = ENTRIES[:n]
    root = rfc9162.mth(entries)
    assert merkle.root(entries) == root
    for m in range(n):
        path = merkle.inclusion_path(m, n, source(entries))
        assert rfc9162.inclusion_holds(m, n, entries[m], path, root)
        assert merkle.verify_inclusion(m, n, entries[m], path, root)
        assert not merkle.verify_inclusion(m, n, entries[m], path, ENTRIES[0])
    for m in range(1, n):
        proof = merkle.consistency_proof(m, n, source(entries))
        old = rfc9162.mth(entries[:m])
        assert rfc9162.consistency_holds(m, n, old, root, proof)
        assert merkle.verify_consistency(m, n, old, root, proof)
        assert not merkle.verify_consistency(m, n, root, old, proof)
    assert merkle.consistency_proof(n, n, source(entries)) == []


def test_the_empty_tree_and_bad_arguments() -> None:
    assert merkle.root([]) == hashlib.sha256(b"").digest()
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(3, 3)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(0, 3)
    with pytest.raises(ValueError):
        merkle.perfect_ranges(1, 3)  # not aligned
    assert not merkle.verify_inclusion(5, 5, ENTRIES[0], [], ENTRIES[0])
    assert not merkle.verify_consistency(2, 1, ENTRIES[0], ENTRIES[0], [])
    assert not merkle.verify_consistency(1, 2, ENTRIES[0], ENTRIES[1], [])
