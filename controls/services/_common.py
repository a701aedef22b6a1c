"""Helpers shared by the controls actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from controls.models import TreasuryControl, active_q
from molam_ops.actions.context import ActionContext
from molam_ops.errors import OpsError
from payouts import selectors as payout_selectors
from payouts.models import BankProfile


def bank_or_404(bank_profile_id: uuid.UUID) -> BankProfile:
    bank = payout_selectors.bank_get(bank_profile_id)
    if bank is None:
        raise OpsError(
            "bank_not_found",
            _("No bank profile with this id."),
            status=404,
            fields={"bank_profile_id": [_("Unknown bank.")]},
        )
    return bank


def switch_control(
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
