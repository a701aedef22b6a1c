"""The tamper-evidence hash chain over ``ops_actions_log``."""

from __future__ import annotations

import hashlib
import json
from typing import Any

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


def canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def row_values(row: Any) -> dict[str, Any]:
    """The hashed fields of a row, as JSON-native values."""
    values = {f: getattr(row, f) for f in HASHED_FIELDS}
    values["id"] = str(values["id"])
    values["action_id"] = str(values["action_id"])
    values["created_at"] = values["created_at"].isoformat()
    return values


def row_hash(row: Any) -> str:
    return hashlib.sha256(canonical(row_values(row))).hexdigest()
