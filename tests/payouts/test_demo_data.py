"""The demo seeder leaves the rails as they would have been: no timestamp in
the future, and balances that hold the ledger identity (opening balance -
settled payouts = balance) — then settling more keeps it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Sum
from django.utils import timezone

from molam_ops.demo import ensure_demo_operators
from payouts import dispatcher
from payouts.choices import PayoutStatus
from payouts.demo import opening_balance, seed
from payouts.models import Payout, TreasuryAccount

pytestmark = pytest.mark.django_db

PAYOUTS = 1500


def settled_sum(account: TreasuryAccount) -> Decimal:
    total = Payout.objects.filter(
        bank_profile_id=account.bank_profile_id,
        currency=account.currency,
        status=PayoutStatus.SETTLED,
    ).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")


def test_no_timestamp_in_the_future() -> None:
    ensure_demo_operators()
    seed(payouts=PAYOUTS)
    now = timezone.now()
    checked = 0
    for model in apps.get_models():
        fields = [
            f.name for f in model._meta.fields if isinstance(f, models.DateTimeField)
        ]
        for name in fields:
            later = model._default_manager.filter(**{f"{name}__gt": now})
            assert not later.exists(), (model.__name__, name, later.first())
            checked += model._default_manager.exclude(**{name: None}).count()
    # the tables the seeder writes were among those read
    assert checked >= 2 * PAYOUTS


def test_opening_balances_hold_the_ledger_identity() -> None:
    counts = seed(payouts=PAYOUTS, seed=11)
    accounts = list(TreasuryAccount.objects.select_related("bank_profile"))
    assert len(accounts) == counts["accounts"] > 0
    assert Payout.objects.filter(status=PayoutStatus.SETTLED).exists()
    for account in accounts:
        opening = opening_balance(
            account.bank_profile.code, account.currency, seed=11, payouts=PAYOUTS
        )
        assert account.balance == opening - settled_sum(account), account
        assert account.balance > 0, account
    # every settled payout was debited from an account of its bank and currency
    keys = {(a.bank_profile_id, a.currency) for a in accounts}
    settled = Payout.objects.filter(status=PayoutStatus.SETTLED)
    assert set(settled.values_list("bank_profile_id", "currency")) <= keys

    # the dispatcher's settlement carries on from there
    Payout.objects.filter(status=PayoutStatus.SENT).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    while dispatcher.settle(after_seconds=60, limit=500):
        pass
    assert not Payout.objects.filter(status=PayoutStatus.SENT).exists()
    for account in TreasuryAccount.objects.select_related("bank_profile"):
        opening = opening_balance(
            account.bank_profile.code, account.currency, seed=11, payouts=PAYOUTS
        )
        assert account.balance == opening - settled_sum(account), account
