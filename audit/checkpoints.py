"""Signed checkpoints of the audit log's Merkle tree (DESIGN §3).

Beat's :func:`sign_checkpoint` extends the stored tree to every row and,
when it grew, checks the newest checkpoint still holds — its signature, its
root recomputed from the stored nodes, an RFC 9162 consistency proof from it
to the new tree verified with §2.1.4.2 — and only then signs the new head,
stores it and queues ``ops.audit.checkpoint`` in the same transaction. A
check that fails signs nothing: one ERROR line names it and
``molam_ops_audit_consistency_failures_total`` counts it.

Checkpoints are bookkeeping over the log, not ops actions: an audit row per
checkpoint would grow the tree at every tick, so none is written.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import merkle, signing, tree
from audit.metrics import CONSISTENCY_FAILURES
from audit.models import AuditCheckpoint
from molam_ops import outbox

log = logging.getLogger(__name__)

# one signer at a time: two would both extend the tree from the same leaf
CHECKPOINT_LOCK_ID = 0x636B7074  # "ckpt"
TOPIC = "ops.audit.checkpoint"
# how many of the newest checkpoints newest_trusted_checkpoint() tries
TRUST_SCAN = 16
# rows one tick takes into the tree: a log that existed before its first
# checkpoint (or a long beat outage) is signed in steps of this many, each
# a few seconds of work (~15,000 rows/s), never one transaction of hours
EXTEND_MOST = 200_000


def timestamp_text(value: datetime) -> str:
    """The ISO 8601 UTC text signed, stored and served (whole seconds)."""
    return value.isoformat().replace("+00:00", "Z")


def checkpoint_json(cp: AuditCheckpoint) -> dict[str, Any]:
    return {
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash,
        "timestamp": timestamp_text(cp.timestamp),
        "key_id": cp.key_id,
        "signature": cp.signature,
    }


def signature_holds(cp: AuditCheckpoint) -> bool:
    key = signing.verifying_keys().get(cp.key_id)
    message = signing.head_bytes(
        tree_size=cp.tree_size,
        root_hash=cp.root_hash,
        timestamp=timestamp_text(cp.timestamp),
    )
    return key is not None and signing.verify(key, message, cp.signature)


def _problem_with(previous: AuditCheckpoint, size: int, new_root: bytes) -> str:
    """Why the tree of ``size`` does not extend ``previous`` ("" if it does)."""
    name = f"checkpoint {previous.tree_size}"
    if not signature_holds(previous):
        return f"{name}: signature does not verify (key {previous.key_id})"
    try:
        old_root = tree.root_at(previous.tree_size)
        proof = tree.consistency_proof(previous.tree_size, size)
    except tree.TreeError as exc:
        return f"{name}: {exc}"
    if old_root.hex() != previous.root_hash:
        return (
            f"{name}: stored tree root {old_root.hex()} != signed {previous.root_hash}"
        )
    signed_root = bytes.fromhex(previous.root_hash)
    if not merkle.verify_consistency(
        previous.tree_size, size, signed_root, new_root, proof
    ):
        return f"{name}: consistency proof to tree size {size} does not verify"
    return ""


def _refuse(problem: str) -> None:
    CONSISTENCY_FAILURES.inc()
    log.error("audit checkpoint not signed: %s", problem)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [CHECKPOINT_LOCK_ID])


def sign_checkpoint(*, now: datetime | None = None) -> AuditCheckpoint | None:
    """Extend the tree and sign its head if it grew; the new checkpoint, or
    None (nothing new, or refused)."""
    # the lock, the new nodes, the checkpoint and its event commit together
    # (the nodes of a refused extension too: they were checked row by row)
    with transaction.atomic():
        _lock()
        grown = tree.extend(most=EXTEND_MOST)
        if grown.broken_seq is not None:
            _refuse(f"row seq {grown.broken_seq}: {grown.reason}")
            return None
        previous = AuditCheckpoint.objects.order_by("-tree_size").first()
        if grown.size == 0 or (previous and previous.tree_size >= grown.size):
            return None
        new_root = tree.root_at(grown.size)
        if previous is not None:
            problem = _problem_with(previous, grown.size, new_root)
            if problem:
                _refuse(problem)
                return None
        return _store(grown.size, new_root, (now or timezone.now()))


def _store(size: int, root: bytes, now: datetime) -> AuditCheckpoint:
    stamp = now.astimezone(UTC).replace(microsecond=0)
    key = signing.public_key()
    origin = settings.AUDIT_LOG_ORIGIN
    body = signing.note_body(origin=origin, tree_size=size, root=root)
    cp = AuditCheckpoint(
        tree_size=size,
        root_hash=root.hex(),
        timestamp=stamp,
        key_id=signing.key_id(key),
        signature=signing.sign(
            signing.head_bytes(
                tree_size=size, root_hash=root.hex(), timestamp=timestamp_text(stamp)
            )
        ),
        origin=origin,
        note_signature=signing.sign_note(body, name=origin),
    )
    cp.save(force_insert=True)
    outbox.add(TOPIC, checkpoint_json(cp), action_id=None)
    log.info("audit checkpoint signed: tree size %d root %s", size, cp.root_hash)
    return cp


def note(cp: AuditCheckpoint) -> str:
    """The checkpoint as a C2SP tlog-checkpoint signed note."""
    body = signing.note_body(
        origin=cp.origin, tree_size=cp.tree_size, root=bytes.fromhex(cp.root_hash)
    )
    return signing.note_text(body, name=cp.origin, signature=cp.note_signature)


def newest_trusted_checkpoint() -> AuditCheckpoint | None:
    """The newest checkpoint (of the last few) whose signature verifies and
    whose root the stored tree still gives at its size: where a verification
    may start, checking only the rows after it."""
    for cp in AuditCheckpoint.objects.order_by("-tree_size")[:TRUST_SCAN]:
        try:
            holds = tree.root_at(cp.tree_size).hex() == cp.root_hash
        except tree.TreeError:
            holds = False
        if holds and signature_holds(cp):
            return cp
        log.warning("audit checkpoint %d not trusted", cp.tree_size)
    return None
