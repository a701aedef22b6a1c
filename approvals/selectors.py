"""Reads of approval requests (signatures prefetched)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils import timezone

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest


def approval_list() -> QuerySet[ApprovalRequest]:
    return ApprovalRequest.objects.prefetch_related("signatures").order_by(
        "-created_at", "id"
    )


def approval_pending_list() -> QuerySet[ApprovalRequest]:
    """Open requests: pending and not past expiry, whatever beat has done."""
    return approval_list().filter(
        status=ApprovalStatus.PENDING, expires_at__gt=timezone.now()
    )


def approval_get(approval_id: uuid.UUID) -> ApprovalRequest | None:
    return approval_list().filter(pk=approval_id).first()


def approval_pending_count() -> int:
    return approval_pending_list().count()
