"""The JSON shape of an approval (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from approvals.models import ApprovalRequest
from molam_ops.lib.fields import iso_utc


def approval_data(
    approval: ApprovalRequest, *, viewer_id: str | None = None
) -> dict[str, Any]:
    """``approval_token`` is shown only to the initiator and the signers."""
    signatures = list(approval.signatures.all())
    data: dict[str, Any] = {
        "id": str(approval.id),
        "action_reference": str(approval.action_reference),
        "action_type": approval.action_type,
        "summary": approval.summary,
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
        "status": approval.status,
        "expires_at": iso_utc(approval.expires_at),
        "created_at": iso_utc(approval.created_at),
        "decided_at": iso_utc(approval.decided_at),
    }
    insiders = {approval.initiator_id, *(s.signer_id for s in signatures)}
    if approval.approval_token and viewer_id in insiders:
        data["approval_token"] = approval.approval_token
        data["token_used"] = approval.token_used_at is not None
    return data
