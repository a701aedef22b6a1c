"""Reads of approval requests (signatures prefetched)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest, ApprovalSignature
from molam_ops.identity import Principal


def approval_list() -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.prefetch_related("signatures").order_by(
        "-created_at", "id"
    )


def approval_pending_list() -> QuerySet[ApprovalRequest]:
    """Open requests: pending and not past expiry, whatever beat has done."""
    return approval_list().filter(
        status=ApprovalStatus.PENDING, expires_at__gt=timezone.now()
    )


def approval_signable_by(
    queryset: QuerySet[ApprovalRequest], principal: Principal
) -> QuerySet[ApprovalRequest]:
    """The open requests ``principal`` may sign: not their own, not decided by
    them, and only if they hold an approver role."""
    if not principal.roles & set(settings.APPROVER_ROLES):
        return queryset.none()
    decided = ApprovalSignature.objects.filter(signer_id=principal.id).values(
        "approval_id"
    )
    return (
        queryset.filter(status=ApprovalStatus.PENDING, expires_at__gt=timezone.now())
        .exclude(initiator_id=principal.id)
        .exclude(pk__in=decided)
    )


def approval_get(approval_id: uuid.UUID) -> ApprovalRequest | None:
    return approval_list().filter(pk=approval_id).first()


def approval_pending_count() -> int:
    return approval_pending_list().count()


def approval_pending_figures() -> dict[str, Any]:
    """How many requests wait, and a ``revision`` that changes whenever one
    appears, is signed or closes: what the dashboard's approvals inbox
    watches on the live-KPI socket to reload (one query)."""
    rows = sorted(approval_pending_list().values_list("id", "current_approvals"))
    text = ",".join(f"{pk}:{n}" for pk, n in rows)
    return {
        "pending": len(rows),
        "revision": hashlib.sha256(text.encode()).hexdigest()[:16],
    }
