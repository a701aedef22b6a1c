"""Reads of controls, and of banks with the controls that bear on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from controls.keys import FREEZE_GLOBAL, feature_key
from controls.models import TreasuryControl, active_q
from payouts import selectors as payout_selectors
from payouts.models import BankProfile


def control_list() -> QuerySet[TreasuryControl]:
    return TreasuryControl.objects.all().order_by("key")


def control_active_keys(now: datetime | None = None) -> set[str]:
    return set(
        TreasuryControl.objects.filter(active_q(now)).values_list("key", flat=True)
    )


@dataclass(frozen=True)
class BankView:
    bank: BankProfile
    paused: bool
    frozen: bool
    freeze_scope: str | None


def bank_list_with_controls(now: datetime | None = None) -> list[BankView]:
    """Every bank with its pause and freeze state: two queries in all."""
    now = now or timezone.now()
    active = control_active_keys(now)
    global_freeze = FREEZE_GLOBAL in active
    out = []
    for bank in payout_selectors.bank_list():
        bank_frozen = f"freeze_bank_{bank.id}" in active
        scope = "global" if global_freeze else ("bank" if bank_frozen else None)
        out.append(
            BankView(bank, f"pause_bank_{bank.id}" in active, scope is not None, scope)
        )
    return out


def control_expired_list(now: datetime | None = None) -> QuerySet[TreasuryControl]:
    """Controls still switched on but past ``expires_at``: what beat closes."""
    return TreasuryControl.objects.filter(
        enabled=True, expires_at__lte=now or timezone.now()
    ).order_by("key")


def flag_list() -> QuerySet[TreasuryControl]:
    """Every ``feature:<name>`` control, active or not."""
    prefix = feature_key("")
    return TreasuryControl.objects.filter(key__startswith=prefix).order_by("key")


def flag_get(name: str) -> TreasuryControl | None:
    return TreasuryControl.objects.filter(key=feature_key(name)).first()
