"""The JSON shape of an approval (DESIGN §6)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.conf import settings

from approvals import binding
from approvals.choices import ApprovalStatus
from approvals.lifecycle import effective_status
from approvals.models import ApprovalRequest, ApprovalSignature
from approvals.summaries import summary
from molam_ops.lib.fields import iso_utc


def approval_data(
    approval: ApprovalRequest,
    *,
    viewer_id: str | None = None,
    viewer_roles: Collection[str] = (),
    signatures: list[ApprovalSignature] | None = None,
) -> dict[str, Any]:
    """``summary`` is rendered in the active language; ``approval_token`` is
    shown only to the initiator and the signers, while it can still be used;
    ``can_sign`` tells the viewer whether a signature of theirs would count."""
    if signatures is None:
        signatures = list(approval.signatures.all())
    status = effective_status(approval)
    signers = {s.signer_id for s in signatures}
    data: dict[str, Any] = {
        "id": str(approval.id),
        "action_reference": str(approval.action_reference),
        "action_type": approval.action_type,
        "summary": summary(approval),
        "target": (approval.facts or {}).get("target") or {},
        "initiator_id": approval.initiator_id,
        "required_approvals": approval.required_approvals,
        "current_approvals": approval.current_approvals,
        "approvers": [
            {
                "signer_id": s.signer_id,
                "role": s.signer_role,
                "decision": s.decision,
                "comment": s.comment,
                "signed_at": iso_utc(s.created_at),
            }
            for s in signatures
        ],
        "status": status,
        "expires_at": iso_utc(approval.expires_at),
        "created_at": iso_utc(approval.created_at),
        "decided_at": iso_utc(approval.decided_at),
        "can_sign": bool(
            status == ApprovalStatus.PENDING
            and viewer_id
            and viewer_id != approval.initiator_id
            and viewer_id not in signers
            and set(viewer_roles) & set(settings.APPROVER_ROLES)
        ),
    }
    insiders = {approval.initiator_id, *signers}
    if approval.mode == "token" and viewer_id in insiders:
        usable = status == ApprovalStatus.APPROVED and not approval.token_used_at
        if usable:
            data["approval_token"] = binding.token_for(approval)
        data["token_used"] = approval.token_used_at is not None
    return data
