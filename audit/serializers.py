"""The JSON shape of an audit row (responses, lists, exports)."""

from __future__ import annotations

from typing import Any

from audit.models import OpsActionLog
from molam_ops.lib.fields import iso_utc

EXPORT_FIELDS = (
    "id",
    "seq",
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
    "hash",
)


def audit_row(row: OpsActionLog) -> dict[str, Any]:
    out = {f: getattr(row, f) for f in EXPORT_FIELDS}
    out["id"] = str(row.id)
    out["action_id"] = str(row.action_id)
    out["created_at"] = iso_utc(row.created_at)
    return out
