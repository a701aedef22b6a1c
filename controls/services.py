"""The controls app's ops actions. Each is run by the kernel runner, inside its
durable transaction; exactly-once rests on conditional updates that must touch
one row (STYLE rule 7), so it holds on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from controls.inputs import PauseBankInput, ResumeBankInput
from controls.keys import pause_bank_key
from controls.models import TreasuryControl, active_q
from controls.serializers import control_data
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from payouts import selectors as payout_selectors
from payouts.models import BankProfile


def _bank(bank_profile_id: uuid.UUID) -> BankProfile:
    bank = payout_selectors.bank_get(bank_profile_id)
    if bank is None:
        raise OpsError(
            "bank_not_found",
            _("No bank profile with this id."),
            status=404,
            fields={"bank_profile_id": [_("Unknown bank.")]},
        )
    return bank


def _switch(
    ctx: ActionContext,
    *,
    key: str,
    on: bool,
    value: dict[str, Any],
    expires_at: datetime | None,
    description: str,
) -> TreasuryControl | None:
    """Turn control ``key`` on or off; None when it already was.

    The UPDATE's WHERE re-checks the state, so of two concurrent callers
    exactly one touches the row (PostgreSQL re-evaluates it after the first
    commits; SQLite runs them one after the other).
    """
    now = timezone.now()
    TreasuryControl.objects.get_or_create(
        key=key, defaults={"created_at": now, "updated_at": now, "enabled": False}
    )
    state = ~active_q(now) if on else active_q(now)
    changes: dict[str, Any] = {
        "enabled": on,
        "updated_by": ctx.actor_id,
        "updated_at": now,
    }
    if on:
        changes.update(value=value, expires_at=expires_at, description=description)
    if not TreasuryControl.objects.filter(Q(key=key) & state).update(**changes):
        return None
    return TreasuryControl.objects.get(key=key)


@ops_action("pause_bank", roles={"pay_admin"}, input=PauseBankInput, resource="control")
def pause_bank(
    ctx: ActionContext,
    *,
    bank_profile_id: uuid.UUID,
    reason: str,
    expires_at: datetime | None = None,
) -> Outcome:
    """Pause a bank connector: no payout is dispatched to it until resumed."""
    bank = _bank(bank_profile_id)
    control = _switch(
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
        resource={"control": control_data(control)},
        details={
            "reason": reason,
            "bank_name": bank.name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )


@ops_action(
    "resume_bank", roles={"pay_admin"}, input=ResumeBankInput, resource="control"
)
def resume_bank(
    ctx: ActionContext, *, bank_profile_id: uuid.UUID, reason: str = ""
) -> Outcome:
    """Resume a paused bank connector."""
    bank = _bank(bank_profile_id)
    control = _switch(
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
        resource={"control": control_data(control)},
        details={"reason": reason, "bank_name": bank.name},
    )
