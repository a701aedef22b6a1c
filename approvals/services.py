"""Signing approval requests, and expiring them (DESIGN §7).

Quorum is reached exactly once: the signature is unique per person, the
count only grows under ``status = pending``, and the step to ``executed`` is a
conditional UPDATE that one transaction alone can make. On PostgreSQL the row
is also locked (``select_for_update``) so concurrent signers queue instead of
racing to a 409.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals import binding, lifecycle
from approvals.choices import ApprovalMode, ApprovalStatus, Decision
from approvals.inputs import ApproveInput, NoInput
from approvals.lifecycle import notify, original_ctx
from approvals.models import ApprovalRequest, ApprovalSignature
from approvals.requests import check_intact
from approvals.serializers import ApprovalSerializer
from approvals.tasks import queue_notification
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.ports import audit_sink
from molam_ops.actions.registry import ops_action
from molam_ops.actions.runner import run_inside
from molam_ops.errors import OpsError


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
    # checked before anything is recorded: nobody signs a rewritten request
    check_intact(approval)
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
    signature = ApprovalSignature(
        approval=approval,
        signer_id=ctx.actor_id,
        signer_role=ctx.role,
        decision=decision,
        comment=comment,
        created_at=timezone.now(),
    )
    binding.seal_signature(signature)
    try:
        with transaction.atomic():
            signature.save(force_insert=True)
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
    """Execute the guarded action, or make its single-use token usable."""
    now = timezone.now()
    if approval.mode == ApprovalMode.TOKEN:
        _transition(approval, status=ApprovalStatus.APPROVED, decided_at=now)
        notify(approval, ApprovalStatus.APPROVED)
        return {"result": "approved"}
    approval.refresh_from_db()
    check_intact(approval)  # and again right before it executes
    _transition(approval, status=ApprovalStatus.EXECUTED, decided_at=now)
    status, row, resource = _execute_approved(approval, ctx)
    if status != "executed":
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            status=ApprovalStatus.FAILED
        )
    notify(
        approval,
        ApprovalStatus.EXECUTED if status == "executed" else ApprovalStatus.FAILED,
    )
    return {
        "result": status,
        "executed_log": row,
        **resource,
    }


def _execute_approved(
    approval: ApprovalRequest, signer: ActionContext
) -> tuple[str, dict[str, Any] | None, dict[str, Any]]:
    """The guarded action, under its initiator's context and action id, in
    the final signature's transaction. The input is validated again and the
    effect re-checks the state it depends on; a refusal now is recorded as
    ``rejected`` under the original action id instead of failing the
    signature that triggered it."""
    try:
        result = run_inside(
            approval.action_type,
            original_ctx(approval, signer.meta),
            approval.payload,
            approved=True,
            invalid=OpsError(
                "validation_error", _("The approved request is no longer valid.")
            ),
        )
    except OpsError as exc:
        return "rejected", exc.audit_row, {}
    resource = {k: v for k, v in result.body.items() if k not in ("ok", "log")}
    return "executed", result.body["log"], resource


def _decline(ctx: ActionContext, approval: ApprovalRequest, comment: str) -> None:
    _transition(approval, status=ApprovalStatus.DECLINED, decided_at=timezone.now())
    notify(approval, ApprovalStatus.DECLINED)
    audit_sink().append(
        original_ctx(approval, ctx.meta),
        status="rejected",
        target=approval.facts.get("target") or {},
        details={
            "code": "approval_declined",
            "by": ctx.actor_id,
            "approval_id": str(approval.id),
            "comment": comment,
        },
    )


def _approve(ctx: ActionContext, approval: ApprovalRequest) -> dict[str, Any]:
    if not ApprovalRequest.objects.filter(
        pk=approval.pk, status=ApprovalStatus.PENDING
    ).update(current_approvals=F("current_approvals") + 1):
        approval.refresh_from_db()
        raise _closed(approval)
    approval.refresh_from_db()
    # quorum counts the signatures the application recorded, not the counter
    approvers = binding.valid_approvers(approval, approval.signatures.all())
    if len(approvers) >= approval.required_approvals:
        return _at_quorum(ctx, approval)
    # the approvers who have not signed hear how far it got
    transaction.on_commit(lambda: queue_notification(approval.id))
    return {"result": "signed"}


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
    if decision == Decision.DECLINE:
        _decline(ctx, approval, comment)
        extra: dict[str, Any] = {"result": "declined"}
    else:
        extra = _approve(ctx, approval)
    approval.refresh_from_db()
    return Outcome(
        target={
            "approval_id": str(approval.id),
            "action_reference": str(approval.action_reference),
            "action_type": approval.action_type,
        },
        resource={
            "approval": ApprovalSerializer(
                approval, context={"viewer_id": ctx.actor_id}
            ).data,
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
    """Close open requests past their expiry (beat)."""
    expired = lifecycle.expire_due(ctx.meta)
    return Outcome(target={"approval_ids": expired}, details={"expired": len(expired)})
