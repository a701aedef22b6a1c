"""freeze_payouts / unfreeze_payouts (a global freeze needs signatures)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from controls.inputs import FreezeInput, UnfreezeInput
from controls.keys import FREEZE_GLOBAL, freeze_bank_key
from controls.models import TreasuryControl, active_q
from controls.serializers import ControlSerializer
from controls.services._common import bank_or_404, switch_control
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.lib.fields import iso_utc


def _freeze_key(scope: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    """(control key, audit target, a human label) of a freeze scope."""
    if scope["kind"] == "global":
        return FREEZE_GLOBAL, {"scope": "global"}, "all payouts"
    bank = bank_or_404(scope["bank_profile_id"])
    return (
        freeze_bank_key(bank.id),
        {"scope": "bank", "bank_profile_id": str(bank.id)},
        f"payouts to {bank.name}",
    )


def freeze_rule(ctx: ActionContext, data: dict[str, Any]) -> int:
    """A global freeze needs signatures (2 by default); a bank freeze does not."""
    if data["scope"]["kind"] == "global":
        return settings.APPROVAL_GLOBAL_FREEZE_SIGNATURES
    return 0


def freeze_facts(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """What a freeze's approval summary names."""
    if data["scope"]["kind"] == "global":
        return {
            "what": gettext_noop("freeze all payouts"),
            "target": {"scope": "global"},
        }
    bank = bank_or_404(data["scope"]["bank_profile_id"])
    return {
        "what": gettext_noop("freeze payouts to %(bank)s"),
        "what_args": {"bank": bank.name},
        "target": {"scope": "bank", "bank_profile_id": str(bank.id), "bank": bank.name},
    }


def _already_frozen() -> OpsError:
    return OpsError("already_frozen", _("This scope is already frozen."), status=409)


def freeze_precheck(ctx: ActionContext, *, scope: dict[str, Any], **_: Any) -> None:
    """Refuse before asking for signatures when the scope is already frozen."""
    key, _target, _label = _freeze_key(scope)
    if TreasuryControl.objects.filter(Q(key=key) & active_q()).exists():
        raise _already_frozen()


@ops_action(
    "freeze_payouts",
    roles={"pay_admin", "finance_ops"},
    input=FreezeInput,
    approvals=freeze_rule,
    approval_facts=freeze_facts,
    precheck=freeze_precheck,
    resource="control",
)
def freeze_payouts(
    ctx: ActionContext,
    *,
    scope: dict[str, Any],
    reason: str,
    expires_at: datetime | None = None,
    ttl_seconds: int | None = None,
) -> Outcome:
    """Freeze payouts everywhere or at one bank; nothing is dispatched while on."""
    key, target, label = _freeze_key(scope)
    if ttl_seconds:
        expires_at = timezone.now() + timedelta(seconds=ttl_seconds)
    control = switch_control(
        ctx,
        key=key,
        on=True,
        value={**target, "reason": reason},
        expires_at=expires_at,
        description=f"Freeze of {label}: {reason}"[:255],
    )
    if control is None:
        raise _already_frozen()
    return Outcome(
        target={**target, "control_key": key},
        resource={"control": ControlSerializer(control).data},
        details={
            "reason": reason,
            "expires_at": iso_utc(expires_at),
        },
    )


@ops_action(
    "unfreeze_payouts",
    roles={"pay_admin", "finance_ops"},
    input=UnfreezeInput,
    resource="control",
)
def unfreeze_payouts(
    ctx: ActionContext, *, scope: dict[str, Any], reason: str = ""
) -> Outcome:
    """Lift a freeze."""
    key, target, _label = _freeze_key(scope)
    control = switch_control(
        ctx, key=key, on=False, value={}, expires_at=None, description=""
    )
    if control is None:
        raise OpsError("not_frozen", _("This scope is not frozen."), status=409)
    return Outcome(
        target={**target, "control_key": key},
        resource={"control": ControlSerializer(control).data},
        details={"reason": reason},
    )
