"""How a request ends without a signature deciding it: past its deadline, or
because what it guards went away. Shared by the actions (approvals/services.py)
and the runner's port (approvals/requests.py); always inside the caller's
transaction, always by a conditional UPDATE, always with the audit row of the
guarded action."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest
from molam_ops.actions.context import ActionContext, RequestMeta
from molam_ops.actions.ports import audit_sink, notify_approval
from molam_ops.identity import Principal

# the statuses in which a request can still lead to an execution
OPEN = (ApprovalStatus.PENDING, ApprovalStatus.APPROVED)


def original_ctx(approval: ApprovalRequest, meta: RequestMeta) -> ActionContext:
    """The context of the action the approval guards, as its initiator ran it."""
    return ActionContext(
        action_id=approval.action_reference,
        action_type=approval.action_type,
        principal=Principal(
            id=approval.initiator_id,
            roles=frozenset(approval.initiator_roles),
            kind=approval.initiator_kind,
        ),
        role=approval.initiator_role,
        idempotency_key=approval.idempotency_key,
        meta=meta,
    )


def notify(approval: ApprovalRequest, status: str) -> None:
    notify_approval(approval.action_type, str(approval.id), approval.payload, status)


def effective_status(approval: ApprovalRequest) -> str:
    """An open request past its deadline reads as expired at once, whatever
    beat has done yet."""
    if approval.status in OPEN and approval.expires_at <= timezone.now():
        return ApprovalStatus.EXPIRED
    return str(approval.status)


def _end(
    approval: ApprovalRequest, status: str, code: str, meta: RequestMeta, **extra: str
) -> bool:
    """open → ``status`` by the one transaction that finds it open; the guarded
    action's ``rejected`` row says why."""
    if not ApprovalRequest.objects.filter(pk=approval.pk, status__in=OPEN).update(
        status=status, decided_at=timezone.now()
    ):
        return False
    notify(approval, status)
    audit_sink().append(
        original_ctx(approval, meta),
        status="rejected",
        target=approval.facts.get("target") or {},
        details={"code": code, "approval_id": str(approval.id), **extra},
    )
    return True


def expire(approval: ApprovalRequest, meta: RequestMeta) -> bool:
    return _end(approval, ApprovalStatus.EXPIRED, "approval_expired", meta)


def expire_due(meta: RequestMeta, *, target_key: str | None = None) -> list[str]:
    """Expire the open requests past their deadline (of one target, or all)."""
    due = ApprovalRequest.objects.filter(
        status__in=OPEN, expires_at__lte=timezone.now()
    )
    if target_key is not None:
        due = due.filter(target_key=target_key)
    return [str(a.id) for a in due if expire(a, meta)]


def close(*, target_key: str, reason: str, meta: RequestMeta) -> list[str]:
    """Cancel the open requests guarding a thing that is gone (a cancelled
    plan): nobody can sign them or use their token any more."""
    open_requests = ApprovalRequest.objects.filter(
        Q(target_key=target_key) & Q(status__in=OPEN)
    )
    return [
        str(a.id)
        for a in open_requests
        if _end(a, ApprovalStatus.CANCELLED, "approval_cancelled", meta, reason=reason)
    ]
