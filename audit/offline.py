"""Verify an export of the audit log against signed checkpoints, with no
database (``manage.py verify_audit``, DESIGN §3).

Given the rows (``GET /api/ops/actions/export?format=json``), the
checkpoints (``GET /api/ops/audit/checkpoints``) and the public keys, it
recomputes every row's hash and the chain's links, the Merkle root at every
checkpoint's size, and checks every checkpoint's signature and the RFC 9162
consistency proof between each checkpoint and the next. A rewrite of rows a
checkpoint covers — even one that recomputed every later hash — shows as a
root that is not the signed one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import chain, merkle, signing

MAX_LISTED = 20  # problems listed one by one; the rest are counted


class BadInput(ValueError):
    """The files are not an export, checkpoints or keys (exit code 2)."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: int = 0

    @property
    def valid(self) -> bool:
        return self.problems == 0

    def ok(self, line: str) -> None:
        self.lines.append(line)

    def bad(self, line: str) -> None:
        self.problems += 1
        if self.problems <= MAX_LISTED:
            self.lines.append("INVALID " + line)


class Levels:
    """Every complete aligned subtree of the export's tree, one string of
    32-byte hashes per level (about 64 bytes a row in all)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        level = b"".join(merkle.leaf_hash(x) for x in leaves)
        self.levels = [level]
        while len(level) >= 64:
            level = b"".join(
                merkle.node_hash(level[i : i + 32], level[i + 32 : i + 64])
                for i in range(0, len(level) - 63, 64)
            )
            self.levels.append(level)

    def subtree(self, start: int, end: int) -> bytes:
        hashes = []
        for a, b in merkle.perfect_ranges(start, end):
            lv = (b - a).bit_length() - 1
            at = (a >> lv) * 32
            hashes.append(self.levels[lv][at : at + 32])
        return merkle.combine(hashes)

    def root(self, size: int) -> bytes:
        return self.subtree(0, size) if size else merkle.EMPTY_ROOT


def _check_rows(rows: list[dict[str, Any]], report: Report) -> list[bytes]:
    prev = chain.GENESIS
    leaves: list[bytes] = []
    for position, row in enumerate(rows, start=1):
        seq = row["seq"]
        if seq != position:
            report.bad(f"row seq {seq}: expected seq {position} (rows missing)")
        if row["prev_hash"] != prev:
            report.bad(f"row seq {seq}: prev_hash does not match the previous row")
        if not chain.holds(row):
            report.bad(f"row seq {seq}: content does not match its hash")
        try:
            leaves.append(bytes.fromhex(row["hash"]))
        except ValueError as exc:
            raise BadInput(f"row seq {seq}: hash is not hex") from exc
        prev = row["hash"]
    report.ok(f"rows: {len(rows)} checked")
    return leaves


def _check_signature(
    cp: dict[str, Any], keys: dict[str, Ed25519PublicKey], report: Report
) -> None:
    key = keys.get(cp["key_id"])
    message = signing.head_bytes(
        tree_size=cp["tree_size"], root_hash=cp["root_hash"], timestamp=cp["timestamp"]
    )
    if key is None:
        report.bad(f"checkpoint {cp['tree_size']}: no public key {cp['key_id']}")
    elif not signing.verify(key, message, cp["signature"]):
        report.bad(f"checkpoint {cp['tree_size']}: signature does not verify")


def verify(
    rows: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    keys: dict[str, Ed25519PublicKey],
) -> Report:
    report = Report()
    rows = sorted(rows, key=lambda r: r["seq"])
    leaves = _check_rows(rows, report)
    levels = Levels(leaves)
    previous: dict[str, Any] | None = None
    for cp in sorted(checkpoints, key=lambda c: c["tree_size"]):
        size = cp["tree_size"]
        _check_signature(cp, keys, report)
        if size > len(leaves):
            report.bad(f"checkpoint {size}: the export has only {len(leaves)} rows")
            continue
        got = levels.root(size).hex()
        if got != cp["root_hash"]:
            report.bad(
                f"checkpoint {size} ({cp['timestamp']}): signed root "
                f"{cp['root_hash']}, the export's first {size} rows give {got}: "
                "rows it covers were changed, removed or added"
            )
        else:
            report.ok(f"checkpoint {size} ({cp['timestamp']}): root matches")
        if previous is not None:
            m = previous["tree_size"]
            proof = merkle.consistency_proof(m, size, levels.subtree)
            if merkle.verify_consistency(
                m,
                size,
                bytes.fromhex(previous["root_hash"]),
                bytes.fromhex(cp["root_hash"]),
                proof,
            ):
                report.ok(f"consistency {m} -> {size}: verified")
            else:
                report.bad(f"consistency {m} -> {size}: proof does not verify")
        previous = cp
    if report.problems > MAX_LISTED:
        report.lines.append(f"... and {report.problems - MAX_LISTED} more problems")
    return report


def parse_checkpoints(data: Any) -> list[dict[str, Any]]:
    """The list response (``{"results": [...]}``) or a bare array."""
    items = data.get("results") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise BadInput("checkpoints: expected a list or {'results': [...]}")
    needed = {"tree_size", "root_hash", "timestamp", "key_id", "signature"}
    for item in items:
        if not isinstance(item, dict) or not needed <= item.keys():
            raise BadInput(f"checkpoints: each needs {sorted(needed)}")
        if not isinstance(item["tree_size"], int) or item["tree_size"] < 1:
            raise BadInput("checkpoints: tree_size must be a positive integer")
        try:
            bytes.fromhex(item["root_hash"])
        except (TypeError, ValueError) as exc:
            raise BadInput("checkpoints: root_hash must be hex") from exc
    return items


def parse_rows(data: Any) -> list[dict[str, Any]]:
    needed = {"seq", "prev_hash", "hash", "created_at"}
    if not isinstance(data, list) or not all(
        isinstance(r, dict) and needed <= r.keys() and isinstance(r["seq"], int)
        for r in data
    ):
        raise BadInput("export: expected the JSON array of audit rows")
    return data
