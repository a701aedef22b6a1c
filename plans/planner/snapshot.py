"""The planner's input, read from the rails in a handful of aggregate queries.

The only module of the planner that touches Django. Pending payouts are read
as classes, ``GROUP BY bank, currency, amount bucket`` (the bucket computed in
SQL the way ``assignment.bucket_of`` does in Python), so a plan over 100,000
payouts reads a few thousand rows. Disputed payouts are left out: nothing may
move them.

Figures derived here (the choices a reviewer should see):

* ``capacity``: the bank's ``daily_capacity`` pro rata over the timeframe,
  less the payouts it is processing now;
* ``failure_rate``: the circuit breaker's window once it holds
  ``PAYOUT_BREAKER_MIN_CALLS`` outcomes, else ``1 - success_rate``;
* ``paused``: a pause of the bank in force; ``frozen``: a freeze of the bank
  or a global freeze in force (both read through ``payouts.gates``);
* ``health``: the worse of the bank's recorded status and what
  ``payouts.health.status`` makes of its success rate, latency and breaker
  (the safety rule keeps a red bank from receiving);
* ``forecast_outflow`` of an account: the pending, non-disputed payouts of
  its bank and currency, plus the bank's average daily paid-out value of the
  past 7 days
  over the timeframe;
* ``usd_rates``: the rates table, the demo defaults where it has no row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Min, Sum
from django.db.models.functions import Floor, Log
from django.utils import timezone

from payouts import gates, health
from payouts.choices import BankStatus, PayoutStatus
from payouts.models import BankProfile, CurrencyRate, Payout, TreasuryAccount
from payouts.rates import DEFAULT_RATES
from plans.planner.assignment import BUCKETS_PER_OCTAVE
from plans.planner.types import (
    FLOAT_REBALANCE,
    AccountSnapshot,
    BankSnapshot,
    PayoutClass,
    Snapshot,
)

HISTORY_DAYS = 7


def build_snapshot(
    plan_type: str | None = None, *, timeframe_hours: int = 24
) -> dict[str, Any]:
    """The snapshot as plain data (``Snapshot.as_dict()``): what a plan
    stores, hashes and sends to SIRA; ``plans.planner.plan`` takes it as is."""
    return read_snapshot(plan_type, timeframe_hours=timeframe_hours).as_dict()


def read_snapshot(
    plan_type: str | None = None, *, timeframe_hours: int = 24
) -> Snapshot:
    hours = max(1, int(timeframe_hours))
    banks = _banks(hours)
    need_accounts = plan_type in (None, FLOAT_REBALANCE)
    return Snapshot(
        banks=banks,
        payout_classes=() if plan_type == FLOAT_REBALANCE else _classes(),
        accounts=_accounts(hours) if need_accounts else (),
        usd_rates=_rates(),
        timeframe_hours=hours,
        taken_at=timezone.now().isoformat(),
    )


def _banks(hours: int) -> tuple[BankSnapshot, ...]:
    blocked = gates.gate().blocked()
    busy = dict(
        Payout.objects.filter(status=PayoutStatus.PROCESSING)
        .values("bank_profile_id")
        .annotate(n=Count("id"))
        .values_list("bank_profile_id", "n")
    )
    out = []
    for bank in BankProfile.objects.order_by("code"):
        capacity = math.floor(bank.daily_capacity * hours / 24) - busy.get(bank.id, 0)
        out.append(
            BankSnapshot(
                id=str(bank.id),
                name=bank.name,
                currencies=tuple(bank.currencies or ()),
                success_rate=bank.success_rate,
                failure_rate=_failure_rate(bank),
                circuit_state=bank.circuit_state,
                fee_percent=bank.fee_percent,
                fee_fixed=bank.fee_fixed,
                capacity=max(capacity, 0),
                avg_latency_ms=bank.avg_latency_ms,
                paused=blocked.banks.get(bank.id) == gates.BANK_PAUSE,
                frozen=blocked.global_freeze
                or blocked.banks.get(bank.id) == gates.BANK_FREEZE,
                health=_health(bank),
            )
        )
    return tuple(out)


_WORSE: dict[str, int] = {BankStatus.GREEN: 0, BankStatus.YELLOW: 1, BankStatus.RED: 2}


def _health(bank: BankProfile) -> str:
    measured = health.status(bank.success_rate, bank.avg_latency_ms, bank.circuit_state)
    return str(max(measured, bank.status, key=lambda s: _WORSE.get(s, 2)))


def _failure_rate(bank: BankProfile) -> Decimal:
    window = bank.recent_outcomes or []
    if len(window) >= settings.PAYOUT_BREAKER_MIN_CALLS:
        failed = sum(1 for outcome in window if not outcome[0])
        return (Decimal(failed) / len(window)).quantize(Decimal("0.0001"))
    return Decimal(1) - bank.success_rate


def class_rows() -> Any:
    """The pending payouts' classes as one aggregate query (also what
    benchmarks/planner_e2e.py times as its floor)."""
    return (
        Payout.objects.filter(status=PayoutStatus.PENDING, disputed=False)
        .annotate(bucket=Floor(Log(2, F("amount")) * BUCKETS_PER_OCTAVE))
        .values("bank_profile_id", "currency", "bucket")
        .annotate(
            n=Count("*"), total=Sum("amount"), low=Min("amount"), high=Max("amount")
        )
        .order_by("bank_profile_id", "currency", "bucket")
    )


def _classes() -> tuple[PayoutClass, ...]:
    rows = class_rows()
    return tuple(
        PayoutClass(
            bank_id=str(r["bank_profile_id"]),
            currency=r["currency"],
            count=r["n"],
            amount=Decimal(r["total"]),
            amount_min=Decimal(r["low"]),
            amount_max=Decimal(r["high"]),
        )
        for r in rows
    )


def _accounts(hours: int) -> tuple[AccountSnapshot, ...]:
    # disputed payouts never leave (the dispatcher skips them), as in _classes
    pending = _sums(Payout.objects.filter(status=PayoutStatus.PENDING, disputed=False))
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    paid = _sums(
        Payout.objects.filter(
            status__in=(PayoutStatus.SENT, PayoutStatus.SETTLED), updated_at__gte=since
        )
    )
    scale = Decimal(hours) / Decimal(24 * HISTORY_DAYS)
    out = []
    for account in TreasuryAccount.objects.order_by("currency", "name"):
        key = (account.bank_profile_id, account.currency)
        forecast = pending[key] + paid[key] * scale
        out.append(
            AccountSnapshot(
                id=str(account.id),
                bank_id=str(account.bank_profile_id),
                currency=account.currency,
                balance=account.balance,
                min_float=account.min_float,
                forecast_outflow=forecast.quantize(Decimal("0.01")),
            )
        )
    return tuple(out)


def _sums(queryset: Any) -> defaultdict[tuple[Any, str], Decimal]:
    rows = queryset.values("bank_profile_id", "currency").annotate(total=Sum("amount"))
    out: defaultdict[tuple[Any, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r["bank_profile_id"], r["currency"])] = Decimal(r["total"] or 0)
    return out


def _rates() -> dict[str, Decimal]:
    rates = dict(DEFAULT_RATES)
    rates.update(CurrencyRate.objects.values_list("currency", "usd_per_unit"))
    return rates
