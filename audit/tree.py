"""The RFC 9162 Merkle tree over ``ops_actions_log``, stored as the hashes of
its complete aligned subtrees (``ops_audit_tree_node``, DESIGN §3).

Appending a row writes no node: beat extends the tree in batches
(:func:`extend`), in ``seq`` order, checking that each row links to the one
before. Any MTH the proofs need is then a handful of indexed lookups: an
aligned power-of-two range is one node, and any other range RFC 9162's PATH
or SUBPROOF asks for is its right edge, a few perfect subtrees combined
(:func:`audit.merkle.perfect_ranges`). A proof's nodes are read in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Q

from audit import merkle
from audit.chain import GENESIS
from audit.models import AuditTreeNode, OpsActionLog

BATCH = 5000
Key = tuple[int, int]  # (level, index)


class TreeError(Exception):
    """The stored tree lacks a node it should have (it is not that large)."""


@dataclass(frozen=True)
class Extension:
    """What :func:`extend` did: the stored tree's size after it, how many
    leaves it added, and the row that stopped it, if one did."""

    size: int
    added: int
    broken_seq: int | None = None
    reason: str = ""


def stored_size() -> int:
    """How many leaves (rows) the stored tree covers."""
    last = (
        AuditTreeNode.objects.filter(level=0)
        .order_by("-index")
        .values_list("index", flat=True)
        .first()
    )
    return 0 if last is None else last + 1


def _entry(hex_hash: str) -> bytes | None:
    """A row's ``hash`` as the 32-byte leaf entry; None when it is not one."""
    if len(hex_hash) != 64:
        return None
    try:
        return bytes.fromhex(hex_hash)
    except ValueError:
        return None


def _boundary(size: int) -> tuple[str, str]:
    """(the hash of row ``size``, why it cannot be built on, or "")."""
    row = OpsActionLog.objects.filter(seq=size).values_list("hash", flat=True).first()
    if row is None:
        return "", f"row seq {size}, the last the stored tree covers, is missing"
    entry = _entry(row)
    stored = AuditTreeNode.objects.get(level=0, index=size - 1).hash
    if entry is None or merkle.leaf_hash(entry).hex() != stored:
        return "", f"row seq {size} differs from the stored tree (rewritten)"
    return row, ""


def extend(*, batch: int | None = None, most: int | None = None) -> Extension:
    """Add every row after the stored tree's last leaf, in ``seq`` order.
    A row that does not link to the row before it stops the extension (the
    rows before it are kept). Run by one process at a time, inside its
    transaction (audit/checkpoints.py holds the lock). ``most`` bounds the
    rows added in one call (whole batches), so a long log is taken in over
    several ticks."""
    batch = batch or BATCH
    size = stored_size()
    prev_hash = GENESIS
    if size:
        # a chain-valid rewrite of any covered row changes this row's hash
        prev_hash, reason = _boundary(size)
        if reason:
            return Extension(size, 0, size, reason)
    added = 0
    while True:
        rows = list(
            OpsActionLog.objects.filter(seq__gt=size)
            .order_by("seq")
            .values_list("seq", "prev_hash", "hash")[:batch]
        )
        entries: list[bytes] = []
        broken: tuple[int, str] | None = None
        for seq, prev, hex_hash in rows:
            entry = _entry(hex_hash)
            if seq != size + len(entries) + 1:
                broken = (seq, f"missing rows before seq {seq}")
            elif prev != prev_hash:
                broken = (seq, "prev_hash does not match the previous row's hash")
            elif entry is None:
                broken = (seq, "hash is not 64 hex digits")
            if broken or entry is None:
                break
            entries.append(entry)
            prev_hash = hex_hash
        _store(size, entries)
        size += len(entries)
        added += len(entries)
        if broken:
            return Extension(size, added, *broken)
        if len(rows) < batch or (most is not None and added >= most):
            return Extension(size, added)


def _store(start: int, entries: list[bytes]) -> None:
    """Write the leaves at ``start`` and every subtree they complete."""
    level, lo, hi = 0, start, start + len(entries)
    hashes = {lo + i: merkle.leaf_hash(e) for i, e in enumerate(entries)}
    nodes: list[AuditTreeNode] = []
    while hi > lo:
        nodes += [
            AuditTreeNode(level=level, index=i, hash=hashes[i].hex())
            for i in range(lo, hi)
        ]
        if lo % 2:  # the new first node's left sibling is stored already
            sibling = AuditTreeNode.objects.get(level=level, index=lo - 1).hash
            hashes[lo - 1] = bytes.fromhex(sibling)
        # parents whose right child is now stored are complete
        plo, phi = lo // 2, hi // 2
        hashes = {
            p: merkle.node_hash(hashes[2 * p], hashes[2 * p + 1])
            for p in range(plo, phi)
        }
        level, lo, hi = level + 1, plo, phi
    AuditTreeNode.objects.bulk_create(nodes, batch_size=1000)


def _key(start: int, end: int) -> Key:
    level = (end - start).bit_length() - 1
    return level, start >> level


def _fetch(keys: set[Key]) -> dict[Key, bytes]:
    if not keys:
        return {}
    where = reduce(or_, (Q(level=lv, index=ix) for lv, ix in sorted(keys)))
    found = AuditTreeNode.objects.filter(where).values_list("level", "index", "hash")
    return {(lv, ix): bytes.fromhex(h) for lv, ix, h in found}


def subtree_hashes(ranges: list[merkle.Range]) -> list[bytes]:
    """MTH(D[a:b]) of each range, from the stored nodes, in one query."""
    parts = [[_key(a, b) for a, b in merkle.perfect_ranges(*r)] for r in ranges]
    found = _fetch({k for keys in parts for k in keys})
    try:
        return [merkle.combine([found[k] for k in keys]) for keys in parts]
    except KeyError as exc:
        raise TreeError(f"the stored tree has no node {exc.args[0]}") from exc


def root_at(size: int) -> bytes:
    """The Merkle tree head over the first ``size`` rows."""
    return subtree_hashes([(0, size)])[0] if size else merkle.EMPTY_ROOT


def inclusion_proof(leaf_index: int, size: int) -> tuple[bytes, list[bytes]]:
    """(leaf hash, audit path) of leaf ``leaf_index`` in the tree of ``size``."""
    ranges = [(leaf_index, leaf_index + 1), *merkle.inclusion_ranges(leaf_index, size)]
    leaf, *path = subtree_hashes(ranges)
    return leaf, path


def consistency_proof(first: int, second: int) -> list[bytes]:
    return subtree_hashes(merkle.consistency_ranges(first, second))


def stored_leaf_mismatches(rows: Iterable[tuple[int, str]]) -> list[int]:
    """The ``seq`` of each (seq, hash) row the stored tree covers whose leaf
    is not the stored one: rows rewritten after the tree took them in, even
    with every later hash recomputed. Rows beyond the tree are skipped."""
    given = {seq - 1: h for seq, h in rows}
    stored = dict(
        AuditTreeNode.objects.filter(level=0, index__in=list(given)).values_list(
            "index", "hash"
        )
    )
    bad = []
    for index, hex_hash in sorted(given.items()):
        if index not in stored:
            continue
        entry = _entry(hex_hash)
        if entry is None or merkle.leaf_hash(entry).hex() != stored[index]:
            bad.append(index + 1)
    return bad
