"""Settling a payout debits its bank's float account in the same transaction,
so the treasury ledger holds: opening balance - settled payouts ± transfers =
balance, per account — on SQLite and PostgreSQL, with concurrent settlers and
transfers on PostgreSQL (threads with their own connections, real commits)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from molam_ops.actions import runner
from molam_ops.identity import system_principal
from payouts import dispatcher, services, treasury
from payouts.choices import PayoutStatus
from payouts.models import Payout, TreasuryAccount
from tests.concurrency import race
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.payouts.helpers import dispatch, seed_rates
from widgets.selectors import treasury_by_currency

OLD = timedelta(minutes=5)


def sent(bank: Any, amount: str, currency: str = "XOF") -> Payout:
    then = timezone.now() - OLD
    return PayoutFactory(
        bank_profile=bank,
        amount=Decimal(amount),
        currency=currency,
        status=PayoutStatus.SENT,
        attempts=1,
        created_at=then,
        updated_at=then,
    )


def settle_all(limit: int = 10) -> int:
    total = 0
    while n := dispatcher.settle(after_seconds=60, limit=limit):
        total += n
    return total


def unbooked(currency: str) -> float:
    value = REGISTRY.get_sample_value(
        f"{treasury.UNBOOKED._name}_total", {"currency": currency}
    )
    return value or 0.0


def balance(account: TreasuryAccount) -> Decimal:
    return TreasuryAccount.objects.get(pk=account.pk).balance


def transfer(
    source: TreasuryAccount, destination: TreasuryAccount, amount: Decimal
) -> Any:
    return runner.run(
        "transfer_funds",
        system_principal(),
        {
            "from_account_id": str(source.pk),
            "to_account_id": str(destination.pk),
            "amount": str(amount),
        },
    )


def assert_ledger(opening: dict[Any, Decimal], moved: dict[Any, Decimal]) -> None:
    """Per account: opening - settled payouts of its bank and currency ±
    transfers (``moved``, signed) = balance."""
    for account in TreasuryAccount.objects.all():
        settled = Payout.objects.filter(
            bank_profile_id=account.bank_profile_id,
            currency=account.currency,
            status=PayoutStatus.SETTLED,
        ).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        expected = opening[account.pk] - settled + moved[account.pk]
        assert account.balance == expected, account


@pytest.mark.django_db
def test_settling_debits_the_float_account_and_the_widget_shows_it() -> None:
    bank = BankProfileFactory()
    xof = TreasuryAccountFactory(
        bank_profile=bank, currency="XOF", balance=Decimal("10000.00")
    )
    usd = TreasuryAccountFactory(
        bank_profile=bank, currency="USD", balance=Decimal("500.00")
    )
    sent(bank, "1500.00")
    sent(bank, "250.50")
    sent(bank, "20.25", "USD")
    fresh = PayoutFactory(bank_profile=bank, status=PayoutStatus.SENT)  # too recent

    assert settle_all() == 3

    assert balance(xof) == Decimal("8249.50")
    assert balance(usd) == Decimal("479.75")
    assert Payout.objects.get(pk=fresh.pk).status == PayoutStatus.SENT
    rows = {r["currency"]: r for r in treasury_by_currency()}
    assert Decimal(rows["XOF"]["balance"]) == Decimal("8249.50")
    # nothing left to settle: nothing more leaves the account
    assert settle_all() == 0
    assert balance(xof) == Decimal("8249.50")


@pytest.mark.django_db
def test_a_payout_without_an_account_settles_unbooked_and_is_counted() -> None:
    bank = BankProfileFactory(currencies=["XOF", "EUR"])
    xof = TreasuryAccountFactory(
        bank_profile=bank, currency="XOF", balance=Decimal("100.00")
    )
    before = unbooked("EUR")
    orphan = sent(bank, "42.00", "EUR")
    sent(bank, "150.00")  # more than the balance: the bank has paid it anyway

    assert settle_all() == 2

    assert Payout.objects.get(pk=orphan.pk).status == PayoutStatus.SETTLED
    assert unbooked("EUR") == before + 1
    assert balance(xof) == Decimal("-50.00")
    # what the web's scrape shows, whichever process settled
    assert missing_gauge() == {"EUR": 1.0, "XOF": 0.0}
    TreasuryAccountFactory(bank_profile=bank, currency="EUR")
    assert missing_gauge() == {"EUR": 0.0, "XOF": 0.0}


def missing_gauge() -> dict[str, float]:
    resp = Client().get("/metrics")
    assert resp.status_code == 200
    return {
        sample.labels["currency"]: sample.value
        for family in text_string_to_metric_families(resp.content.decode())
        if family.name == "molam_ops_treasury_accounts_missing"
        for sample in family.samples
    }


@pytest.mark.django_db
def test_a_retried_payout_is_debited_once(settings: Any) -> None:
    seed_rates()
    bank = BankProfileFactory()
    account = TreasuryAccountFactory(
        bank_profile=bank, currency="XOF", balance=Decimal("9000.00")
    )
    payout = PayoutFactory(bank_profile=bank, amount=Decimal("700.00"))
    settings.CONNECTOR_BANKS = {bank.code: {"failure_rate": 1}}
    assert dispatch().failed == 1
    settings.CONNECTOR_BANKS = {}
    assert services.requeue(payout.pk)
    assert dispatch().sent == 1
    Payout.objects.filter(pk=payout.pk).update(updated_at=timezone.now() - OLD)

    assert settle_all() == 1
    assert services.requeue(payout.pk) is False  # settled is final
    assert settle_all() == 0
    assert balance(account) == Decimal("8300.00")


def _rails(rng: random.Random) -> tuple[list[TreasuryAccount], list[Payout]]:
    banks = BankProfileFactory.create_batch(3, currencies=["XOF", "USD"])
    accounts = [
        TreasuryAccountFactory(
            bank_profile=b, currency=c, balance=Decimal(rng.randint(10**7, 10**8))
        )
        for b in banks
        for c in ("XOF", "USD")
    ]
    payouts = [
        sent(
            rng.choice(banks),
            f"{rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}",
            rng.choice(("XOF", "USD")),
        )
        for _ in range(240)
    ]
    return accounts, payouts


def _random_transfer(
    rng: random.Random, accounts: list[TreasuryAccount], moved: dict[Any, Decimal]
) -> None:
    currency = rng.choice(("XOF", "USD"))
    source, destination = rng.sample([a for a in accounts if a.currency == currency], 2)
    amount = Decimal(f"{rng.randint(1, 5000)}.{rng.randint(0, 99):02d}")
    transfer(source, destination, amount)
    moved[source.pk] -= amount
    moved[destination.pk] += amount


@pytest.mark.django_db
def test_the_ledger_holds_over_many_settlements_and_transfers() -> None:
    rng = random.Random(13)
    accounts, _payouts = _rails(rng)
    opening = {a.pk: a.balance for a in accounts}
    moved: dict[Any, Decimal] = defaultdict(Decimal)
    while dispatcher.settle(after_seconds=60, limit=rng.randint(1, 9)):
        if rng.random() < 0.5:
            _random_transfer(rng, accounts, moved)
    assert not Payout.objects.exclude(status=PayoutStatus.SETTLED).exists()
    assert_ledger(opening, moved)


@pytest.mark.postgres
def test_the_ledger_holds_with_concurrent_settlers_and_transfers(tx_db: None) -> None:
    rng = random.Random(29)
    accounts, payouts = _rails(rng)
    opening = {a.pk: a.balance for a in accounts}
    moved: dict[Any, Decimal] = defaultdict(Decimal)
    plans = [random.Random(i) for i in range(4)]
    transfers: list[dict[Any, Decimal]] = [defaultdict(Decimal) for _ in range(4)]

    def worker(i: int) -> int:
        if i >= 4:  # transfers, concurrently with the settlers
            for _ in range(15):
                _random_transfer(plans[i - 4], accounts, transfers[i - 4])
            return 0
        return settle_all(limit=3 + i)

    results = race(8, worker)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == len(payouts)  # each payout settled by one settler
    assert not Payout.objects.exclude(status=PayoutStatus.SETTLED).exists()
    for part in transfers:
        for pk, amount in part.items():
            moved[pk] += amount
    assert_ledger(opening, moved)
