"""Helpers shared by the dispatcher, connector and breaker tests."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from payouts import dispatcher
from payouts.connector import SimulatedBankConnector
from payouts.dispatcher import BatchReport
from payouts.models import CurrencyRate, Payout, SimulatedBankTransfer
from payouts.rates import DEFAULT_RATES


def seed_rates() -> None:
    for currency, rate in DEFAULT_RATES.items():
        CurrencyRate.objects.update_or_create(
            currency=currency,
            defaults={"usd_per_unit": rate, "updated_at": timezone.now()},
        )


def dispatch(batch: int = 50, **kw: Any) -> BatchReport:
    """One dispatcher batch through the real simulated bank."""
    kw.setdefault("connector", SimulatedBankConnector())
    return dispatcher.dispatch_batch(batch=batch, **kw)


def drain(batch: int = 10) -> int:
    """Dispatch batches until nothing is left to claim; the payouts sent."""
    sent = 0
    while (report := dispatch(batch=batch)).claimed:
        sent += report.sent
    return sent


def statuses(*payouts: Payout) -> list[str]:
    return [Payout.objects.get(pk=p.pk).status for p in payouts]


def ledger(bank: Any = None) -> list[SimulatedBankTransfer]:
    qs = SimulatedBankTransfer.objects.order_by("id")
    if bank is not None:
        qs = qs.filter(bank_profile_id=bank.id)
    return list(qs)
