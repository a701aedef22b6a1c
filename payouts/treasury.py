"""The float accounts' side of a settlement: money that left through a bank.

Two things move a treasury balance: ``transfer_funds`` (between two accounts)
and a payout's settlement, which debits the account of the payout's bank and
currency in the transaction that marks it settled (``services.settle_sent``).
So, per account, at any commit: opening balance - settled payouts ± transfers
= balance.

Each debit is one ``UPDATE … SET balance = balance - %s`` (an F() expression):
two settlers, or a settler and a transfer, never lose each other's update.
Accounts are written in the order ``transfer_funds`` writes them (primary key
as text), so the two never hold each other's row first on PostgreSQL.

A settlement is never refused by the treasury: the bank has already paid. The
balance may go below ``min_float`` or below zero, which is what the float
widget and the float rebalance plan are there to show and fix. A payout whose
bank holds no account in its currency is settled without a debit, logged, and
counted in ``molam_ops_settlement_unbooked_total{currency}``: the money left
an account the plane does not mirror. The dispatcher's pod is not scraped, so
the web's ``/metrics`` shows the gap itself as well
(``molam_ops_treasury_accounts_missing``, ``payouts.metrics``).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import F
from prometheus_client import Counter

from payouts.models import TreasuryAccount

log = logging.getLogger("payouts.treasury")

UNBOOKED = Counter(
    "molam_ops_settlement_unbooked_total",
    "Settled payouts whose bank holds no treasury account in their currency"
    " (settled, no balance debited), by currency.",
    ["currency"],
)

# (payout id, bank id, currency, amount), as settle_sent reads them
SettledRow = tuple[uuid.UUID, uuid.UUID, str, Decimal]


def debit_settled(rows: Iterable[SettledRow], *, now: datetime) -> int:
    """Debit each settled payout's amount from its bank's account in its
    currency, in the caller's transaction (the status change's); returns how
    many payouts were debited (the others were unbooked)."""
    totals: defaultdict[tuple[uuid.UUID, str], Decimal] = defaultdict(Decimal)
    counts: defaultdict[tuple[uuid.UUID, str], int] = defaultdict(int)
    for _pk, bank_id, currency, amount in rows:
        totals[(bank_id, currency)] += amount
        counts[(bank_id, currency)] += 1
    if not totals:
        return 0
    accounts = {
        (bank_id, currency): pk
        for pk, bank_id, currency in TreasuryAccount.objects.filter(
            bank_profile_id__in={b for b, _c in totals},
            currency__in={c for _b, c in totals},
        ).values_list("pk", "bank_profile_id", "currency")
    }
    debited = 0
    for key in sorted(totals, key=lambda k: str(accounts.get(k, ""))):
        account_id = accounts.get(key)
        if account_id is None:
            _unbooked(key, counts[key], totals[key])
            continue
        TreasuryAccount.objects.filter(pk=account_id).update(
            balance=F("balance") - totals[key], updated_at=now
        )
        debited += counts[key]
    return debited


def _unbooked(key: tuple[uuid.UUID, str], count: int, total: Decimal) -> None:
    bank_id, currency = key
    UNBOOKED.labels(currency=currency).inc(count)
    log.warning(
        "settled %d payouts (%s %s) of bank %s with no treasury account in"
        " that currency: no balance debited",
        count,
        total,
        currency,
        bank_id,
    )
