"""pause_bank / resume_bank."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from controls.inputs import PauseBankInput, ResumeBankInput
from controls.keys import pause_bank_key
from controls.serializers import ControlSerializer
from controls.services._common import bank_or_404, switch_control
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.lib.fields import iso_utc


# "system": the circuit breaker pauses a failing bank (payouts/breaker.py);
# resume_bank stays with people.
@ops_action(
    "pause_bank",
    roles={"pay_admin", "system"},
    input=PauseBankInput,
    resource="control",
)
def pause_bank(
    ctx: ActionContext,
    *,
    bank_profile_id: uuid.UUID,
    reason: str,
    expires_at: datetime | None = None,
    evidence: dict[str, Any] | None = None,
) -> Outcome:
    """Pause a bank connector: no payout is dispatched to it until resumed."""
    bank = bank_or_404(bank_profile_id)
    control = switch_control(
        ctx,
        key=pause_bank_key(bank.id),
        on=True,
        value={"bank_profile_id": str(bank.id), "reason": reason},
        expires_at=expires_at,
        description=f"Bank {bank.name} paused: {reason}"[:255],
    )
    if control is None:
        raise OpsError(
            "bank_already_paused", _("This bank is already paused."), status=409
        )
    return Outcome(
        target={"bank_profile_id": str(bank.id), "control_key": control.key},
        resource={"control": ControlSerializer(control).data},
        details={
            "reason": reason,
            "bank_name": bank.name,
            # rendered as the control's own expires_at is (DRF: UTC, "Z")
            "expires_at": (iso_utc(expires_at)),
            **({"evidence": evidence} if evidence is not None else {}),
        },
    )


@ops_action(
    "resume_bank", roles={"pay_admin"}, input=ResumeBankInput, resource="control"
)
def resume_bank(
    ctx: ActionContext, *, bank_profile_id: uuid.UUID, reason: str = ""
) -> Outcome:
    """Resume a paused bank connector."""
    bank = bank_or_404(bank_profile_id)
    control = switch_control(
        ctx,
        key=pause_bank_key(bank.id),
        on=False,
        value={},
        expires_at=None,
        description="",
    )
    if control is None:
        raise OpsError("bank_not_paused", _("This bank is not paused."), status=409)
    return Outcome(
        target={"bank_profile_id": str(bank.id), "control_key": control.key},
        resource={"control": ControlSerializer(control).data},
        details={"reason": reason, "bank_name": bank.name},
    )
