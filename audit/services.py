"""Writing the audit trail: the runner's audit sink (the only writer)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.utils import timezone

from audit.canonical import inet_text, storable
from audit.chain import GENESIS, row_hash
from audit.models import OpsActionLog
from audit.serializers import audit_row
from molam_ops import outbox
from molam_ops.actions.context import ActionContext
from molam_ops.lib import rawsql

# Serializes appends on PostgreSQL so each row links to the one before it; on
# SQLite the IMMEDIATE transaction already holds the only write lock.
CHAIN_LOCK_ID = 0x61756469740A  # "audit"
# Every row goes to the central Audit Service through the outbox, in the
# row's own transaction: the relay publishes in outbox order, which under the
# chain lock is seq order, so the service can check the chain as it receives.
ROW_TOPIC = "ops.audit.row"


_IP_FIELD = OpsActionLog._meta.get_field("ip")


def _stored_ip(ip: str | None) -> str | None:
    """The address as the database gives it back, so that is what is hashed:
    Django's own cleaning of the column (IPv6 compressed, a scope id
    dropped), then on PostgreSQL ``inet``'s way of writing it."""
    text: str | None = _IP_FIELD.get_prep_value(ip or None)
    if text and connection.vendor == "postgresql":
        return inet_text(text)
    return text


def append_row(
    *,
    action_id: uuid.UUID,
    actor_id: str,
    actor_role: str,
    action_type: str,
    status: str,
    target: dict[str, Any],
    details: dict[str, Any],
    idempotency_key: str | None = None,
    ip: str | None = None,
    user_agent: str = "",
    request_id: str = "",
) -> OpsActionLog:
    """Append one chained row, and its copy for the Audit Service to the
    outbox. Must run inside the caller's transaction, which holds the chain
    lock until it commits."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
    # a statement of its own, after the lock: its snapshot (READ COMMITTED)
    # sees the row the previous holder committed
    last = OpsActionLog.objects.order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    row = OpsActionLog(
        seq=seq,
        action_id=action_id,
        actor_id=actor_id[:255],
        actor_role=actor_role[:32],
        action_type=action_type,
        status=status,
        # what the database will give back: the hash below is over it
        target=storable(target),
        details=storable(details),
        # the refusal of an over-long key (400) is recorded too: clip it to fit
        idempotency_key=idempotency_key[:255] if idempotency_key else idempotency_key,
        ip=_stored_ip(ip),
        user_agent=user_agent[:512],
        request_id=request_id[:64],
        created_at=timezone.now(),
        prev_hash=prev,
    )
    row.hash = row_hash(row)
    # append-only and on every action's path: the INSERT is built once
    # (no model signals or save() override here to skip)
    rawsql.insert(row)
    outbox.add(ROW_TOPIC, audit_row(row), action_id=action_id)
    return row


class AuditLogSink:
    """The kernel runner's port onto this app."""

    def append(
        self,
        ctx: ActionContext,
        *,
        status: str,
        target: dict[str, Any],
        details: dict[str, Any],
    ) -> dict[str, Any]:
        row = append_row(
            action_id=ctx.action_id,
            actor_id=ctx.actor_id,
            actor_role=ctx.role,
            action_type=ctx.action_type,
            status=status,
            target=target,
            details=details,
            idempotency_key=ctx.idempotency_key,
            ip=ctx.meta.ip,
            user_agent=ctx.meta.user_agent,
            request_id=ctx.meta.request_id,
        )
        return audit_row(row)
