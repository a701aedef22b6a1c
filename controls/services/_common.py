"""Helpers shared by the controls actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from controls.models import TreasuryControl, active_q
from controls.signals import control_switched
from molam_ops.actions.context import ActionContext
from molam_ops.errors import OpsError
from payouts import selectors as payout_selectors
from payouts.models import BankProfile


def bank_or_404(
    bank_profile_id: uuid.UUID, *, field: str = "bank_profile_id"
) -> BankProfile:
    """The bank with its id and name loaded (what most actions read; other
    fields load on first access); 404 naming ``field`` when unknown."""
    bank = payout_selectors.bank_name_get(bank_profile_id)
    if bank is None:
        raise OpsError(
            "bank_not_found",
            _("No bank profile with this id."),
            status=404,
            fields={field: [_("Unknown bank.")]},
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
    """Turn control ``key`` on or off; None when it already was. A change
    sends ``controls.signals.control_switched``, inside the caller's
    transaction."""
    now = timezone.now()
    changes: dict[str, Any] = {
        "enabled": on,
        "updated_by": ctx.actor_id,
        "updated_at": now,
    }
    if on:
        changes.update(value=value, expires_at=expires_at, description=description)
    control = _switch_row(key, on, changes, now)
    if control is not None:
        control_switched.send(sender=TreasuryControl, key=key, enabled=on)
    return control


def _switch_row(
    key: str, on: bool, changes: dict[str, Any], now: datetime
) -> TreasuryControl | None:
    """The row switched, or None when it already was.

    The UPDATE's WHERE re-checks the state, so of two concurrent callers
    exactly one touches the row: PostgreSQL re-evaluates it on the row the
    first caller committed; SQLite runs them one after the other. Turning on
    a missing row creates it, and the unique ``key`` lets one of two
    concurrent creators through: the other's INSERT waits for the first to
    commit, fails, and finds the control already on. Turning off a missing
    row changes nothing.
    """
    state = ~active_q(now) if on else active_q(now)
    if TreasuryControl.objects.filter(Q(key=key) & state).update(**changes):
        return TreasuryControl.objects.get(key=key)
    if not on:
        return None
    try:
        # a savepoint, so a lost race leaves the caller's transaction usable
        with transaction.atomic():
            return TreasuryControl.objects.create(key=key, created_at=now, **changes)
    except IntegrityError:
        # a lost race: the row exists now, and is on; any other integrity
        # failure is not "already on" and goes up as the failure it is
        if TreasuryControl.objects.filter(key=key).exists():
            return None
        raise
