"""The tamper-evidence hash chain over ``ops_actions_log`` (DESIGN §3).

A row's ``hash`` is the SHA-256 (lower-case hex) of the RFC 8785 (JCS) bytes
of one JSON object: these fields of the row as ``audit_row()`` renders it,
the shape of the API's ``log`` and of the JSON export, and no others::

    seq, id, action_id, actor_id, actor_role, action_type, target,
    idempotency_key, status, details, ip, user_agent, request_id,
    created_at, prev_hash

``id`` and ``action_id`` are the UUIDs' hyphenated lower-case strings,
``created_at`` the ISO 8601 UTC text ending in ``Z`` exactly as the row
carries it, ``target`` and ``details`` the JSON objects as stored (which
audit/canonical.py makes safe: no number in them that a JSON column would
rewrite), ``prev_hash`` the hash of the row before (``GENESIS`` for the
first). So whoever holds a JSON export can check each row with nothing but a
JCS library and SHA-256::

    sha256(rfc8785.dumps({f: row[f] for f in HASHED_FIELDS})).hexdigest()

and that ``prev_hash`` of each row is the ``hash`` of the one before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from audit.serializers import audit_row

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "id",
    "action_id",
    "actor_id",
    "actor_role",
    "action_type",
    "target",
    "idempotency_key",
    "status",
    "details",
    "ip",
    "user_agent",
    "request_id",
    "created_at",
    "prev_hash",
)


def hash_of(values: Mapping[str, Any]) -> str:
    """The hash of a row given as ``audit_row()`` gives it (an export's row
    will do; other keys, ``hash`` among them, are ignored)."""
    canonical = rfc8785.dumps({f: values[f] for f in HASHED_FIELDS})
    return hashlib.sha256(canonical).hexdigest()


def row_hash(row: Any) -> str:
    return hash_of(audit_row(row))


def _legacy_hash_of(values: Mapping[str, Any]) -> str:
    """How the previous release hashed: ``json.dumps`` with sorted keys over
    the same fields, ``created_at`` as ``isoformat()`` gave it (``+00:00``
    where ``audit_row()`` writes ``Z``)."""
    old = {f: values[f] for f in HASHED_FIELDS}
    old["created_at"] = old["created_at"].removesuffix("Z") + "+00:00"
    text = json.dumps(old, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def holds(values: Mapping[str, Any]) -> bool:
    """Whether a row in ``audit_row()``'s shape (an export's row will do)
    matches its ``hash``.

    Rows written before JCS hashing carry the previous release's hash; the
    log is append-only, so they can never be re-hashed and are checked in
    that form too. Accepting it gives a forger nothing: whoever can rewrite a
    row can recompute either form, which is why the chain's links and the
    signed checkpoints, not the row hash alone, are the evidence."""
    try:
        if hash_of(values) == values["hash"]:
            return True
    except rfc8785.CanonicalizationError:
        pass  # a number JCS has no form for: only an old row or a forged one
    try:
        return _legacy_hash_of(values) == values["hash"]
    except ValueError:  # text the old form could not encode either
        return False


def hash_holds(row: Any) -> bool:
    """Whether ``row``'s content matches its stored ``hash`` (``holds``)."""
    return holds(audit_row(row))
