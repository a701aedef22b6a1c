"""Signing approval requests, and expiring them (DESIGN §7).

Quorum is reached exactly once: the signature is unique per person, the
count only grows under ``status = pending``, and the step to ``executed`` is a
conditional UPDATE that one transaction alone can make. On PostgreSQL the row
is also locked (``select_for_update``) so concurrent signers queue instead of
racing to a 409.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.choices import ApprovalMode, ApprovalStatus, Decision
from approvals.gate import payload_hash
from approvals.inputs import ApproveInput, NoInput
from approvals.models import ApprovalRequest, ApprovalSignature
from approvals.serializers import approval_data
from molam_ops.actions.context import ActionContext, Outcome, RequestMeta
from molam_ops.actions.nested import run_approved
from molam_ops.actions.ports import audit_sink, notify_approval
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.identity import Principal


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


def _notify(approval: ApprovalRequest, status: str) -> None:
    notify_approval(approval.action_type, str(approval.id), approval.payload, status)


def _closed(approval: ApprovalRequest) -> OpsError:
    if approval.status == ApprovalStatus.DECLINED:
        return OpsError(
            "approval_declined", _("This request was declined."), status=409
        )
    if approval.status == ApprovalStatus.EXPIRED:
        return OpsError("approval_expired", _("This request has expired."), status=409)
    return OpsError(
        "approval_closed",
        _("This request is closed (%(status)s).") % {"status": approval.status},
        status=409,
    )


def _load_open(approval_id: uuid.UUID, signer_id: str) -> ApprovalRequest:
    approval = (
        ApprovalRequest.objects.select_for_update().filter(pk=approval_id).first()
    )
    if approval is None:
        raise OpsError(
            "approval_not_found", _("No approval request with this id."), status=404
        )
    if approval.status != ApprovalStatus.PENDING:
        raise _closed(approval)
    if approval.expires_at <= timezone.now():
        raise OpsError("approval_expired", _("This request has expired."), status=409)
    if signer_id == approval.initiator_id:
        raise OpsError(
            "initiator_cannot_sign",
            _("The initiator of a request cannot sign it."),
            status=403,
        )
    return approval


def _sign(
    ctx: ActionContext, approval: ApprovalRequest, decision: str, comment: str
) -> None:
    try:
        with transaction.atomic():
            ApprovalSignature.objects.create(
                approval=approval,
                signer_id=ctx.actor_id,
                signer_role=ctx.role,
                decision=decision,
                comment=comment,
                created_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise OpsError(
            "already_signed", _("You have already signed this request."), status=409
        ) from exc


def _transition(approval: ApprovalRequest, **changes: Any) -> None:
    """pending → something, by the one transaction that finds it pending."""
    if not ApprovalRequest.objects.filter(
        pk=approval.pk, status=ApprovalStatus.PENDING
    ).update(**changes):
        approval.refresh_from_db()
        raise _closed(approval)


def _at_quorum(ctx: ActionContext, approval: ApprovalRequest) -> dict[str, Any]:
    """Execute the guarded action, or issue its single-use token."""
    now = timezone.now()
    if approval.mode == ApprovalMode.TOKEN:
        _transition(
            approval,
            status=ApprovalStatus.APPROVED,
            decided_at=now,
            approval_token=secrets.token_urlsafe(32),
        )
        _notify(approval, ApprovalStatus.APPROVED)
        return {"result": "approved"}
    if payload_hash(approval.action_type, approval.payload) != approval.payload_hash:
        raise OpsError(
            "approval_tampered",
            _("The request's payload does not match its hash."),
            status=409,
        )
    _transition(approval, status=ApprovalStatus.EXECUTED, decided_at=now)
    status, row, outcome = run_approved(
        approval.action_type, original_ctx(approval, ctx.meta), approval.payload
    )
    if status != "executed":
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            status=ApprovalStatus.FAILED
        )
    _notify(
        approval,
        ApprovalStatus.EXECUTED if status == "executed" else ApprovalStatus.FAILED,
    )
    return {
        "result": status,
        "executed_log": row,
        **((outcome.resource or {}) if outcome else {}),
    }


@ops_action(
    "approve",
    roles={"pay_admin", "finance_ops"},
    input=ApproveInput,
    resource="approval",
    http=True,
    route="approve/<uuid:approval_id>",
)
def approve(
    ctx: ActionContext, *, approval_id: uuid.UUID, decision: str, comment: str = ""
) -> Outcome:
    """Sign (approve) or decline a pending multi-signature request."""
    approval = _load_open(approval_id, ctx.actor_id)
    _sign(ctx, approval, decision, comment)
    extra: dict[str, Any] = {}
    if decision == Decision.DECLINE:
        _transition(approval, status=ApprovalStatus.DECLINED, decided_at=timezone.now())
        _notify(approval, ApprovalStatus.DECLINED)
        audit_sink().append(
            original_ctx(approval, ctx.meta),
            status="rejected",
            target=approval.summary,
            details={
                "code": "approval_declined",
                "by": ctx.actor_id,
                "approval_id": str(approval.id),
                "comment": comment,
            },
        )
        extra["result"] = "declined"
    else:
        if not ApprovalRequest.objects.filter(
            pk=approval.pk, status=ApprovalStatus.PENDING
        ).update(current_approvals=F("current_approvals") + 1):
            approval.refresh_from_db()
            raise _closed(approval)
        approval.refresh_from_db()
        if approval.current_approvals >= approval.required_approvals:
            extra = _at_quorum(ctx, approval)
        else:
            extra["result"] = "signed"
    approval.refresh_from_db()
    return Outcome(
        target={
            "approval_id": str(approval.id),
            "action_reference": str(approval.action_reference),
            "action_type": approval.action_type,
        },
        resource={
            "approval": approval_data(approval, viewer_id=ctx.actor_id),
            **{k: v for k, v in extra.items() if k != "result"},
        },
        details={
            "decision": decision,
            "comment": comment,
            "current_approvals": approval.current_approvals,
            "required_approvals": approval.required_approvals,
            "result": extra.get("result"),
        },
    )


@ops_action("expire_approvals", roles={"system"}, input=NoInput, http=False)
def expire_approvals(ctx: ActionContext) -> Outcome:
    """Close pending requests past their expiry (beat)."""
    now = timezone.now()
    due = list(
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.PENDING, expires_at__lte=now
        )
    )
    expired = []
    for approval in due:
        if ApprovalRequest.objects.filter(
            pk=approval.pk, status=ApprovalStatus.PENDING
        ).update(status=ApprovalStatus.EXPIRED, decided_at=now):
            expired.append(str(approval.id))
            _notify(approval, ApprovalStatus.EXPIRED)
            audit_sink().append(
                original_ctx(approval, ctx.meta),
                status="rejected",
                target=approval.summary,
                details={"code": "approval_expired", "approval_id": str(approval.id)},
            )
    return Outcome(target={"approval_ids": expired}, details={"expired": len(expired)})
