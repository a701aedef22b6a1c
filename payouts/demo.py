"""Demo rails: banks, treasury accounts and a few thousand payouts.

Written as the rails would have left them: no timestamp after the seeding's
``now``, and every float account's balance is its opening balance
(:func:`opening_balance`) less the payouts of its bank and currency seeded as
settled, debited by the settlement's own code (``payouts.treasury``) — so
opening balance - settled payouts = balance holds from the first page view.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from payouts import treasury
from payouts.choices import BankStatus, CircuitState, PayoutStatus
from payouts.models import BankProfile, CurrencyRate, Payout, TreasuryAccount
from payouts.rates import DEFAULT_RATES

BANKS = [
    # code, name, country, currencies, success, latency ms, fee %, fixed fee
    (
        "ecobank-sn",
        "Ecobank Sénégal",
        "SN",
        ["XOF", "USD"],
        "0.9920",
        180,
        "0.0080",
        "0.25",
    ),
    ("cbao-sn", "CBAO Attijariwafa", "SN", ["XOF"], "0.9850", 240, "0.0065", "0.30"),
    (
        "sgci-ci",
        "Société Générale CI",
        "CI",
        ["XOF", "EUR"],
        "0.9700",
        320,
        "0.0070",
        "0.20",
    ),
    ("uba-ng", "UBA Nigeria", "NG", ["NGN", "USD"], "0.9600", 410, "0.0050", "0.40"),
    (
        "gtbank-gh",
        "GTBank Ghana",
        "GH",
        ["GHS", "USD"],
        "0.9880",
        200,
        "0.0090",
        "0.15",
    ),
    (
        "equity-ke",
        "Equity Bank Kenya",
        "KE",
        ["KES", "USD"],
        "0.9300",
        650,
        "0.0045",
        "0.35",
    ),
    (
        "afriland-cm",
        "Afriland First Bank",
        "CM",
        ["XAF", "EUR"],
        "0.9900",
        260,
        "0.0075",
        "0.25",
    ),
    ("bicis-sn", "BICIS", "SN", ["XOF", "EUR", "USD"], "0.8800", 900, "0.0060", "0.20"),
]
STATUS_WEIGHTS = [
    (PayoutStatus.PENDING, 30),
    (PayoutStatus.PROCESSING, 8),
    (PayoutStatus.SENT, 20),
    (PayoutStatus.SETTLED, 34),
    (PayoutStatus.FAILED, 8),
]
TYPICAL_AMOUNT = {
    "XOF": 150_000,
    "XAF": 150_000,
    "NGN": 400_000,
    "GHS": 3_000,
    "KES": 30_000,
    "USD": 300,
    "EUR": 250,
}


def opening_balance(code: str, currency: str, *, seed: int, payouts: int) -> Decimal:
    """An account's balance before the seeded payouts settled: a few hundred
    to two thousand typical payouts, more when more payouts are seeded (so the
    settled ones, about two typical amounts each, leave it positive). Its own
    random stream per account, so a test can name it."""
    rng = random.Random(f"{seed}:{code}:{currency}")  # noqa: S311 - demo data
    scale = max(1, payouts // 3000)
    return Decimal(TYPICAL_AMOUNT[currency] * rng.randint(200, 2000) * scale)


def _health(success: Decimal, latency: int) -> tuple[str, str]:
    if success < Decimal("0.90") or latency > 800:
        return BankStatus.RED, CircuitState.HALF_OPEN
    if success < Decimal("0.95") or latency > 500:
        return BankStatus.YELLOW, CircuitState.CLOSED
    return BankStatus.GREEN, CircuitState.CLOSED


@transaction.atomic
def seed(*, payouts: int = 3000, seed: int = 7) -> dict[str, int]:
    """Create the demo rails once. A second call adds nothing."""
    for currency, rate in DEFAULT_RATES.items():
        CurrencyRate.objects.get_or_create(
            currency=currency,
            defaults={"usd_per_unit": rate, "updated_at": timezone.now()},
        )
    if BankProfile.objects.filter(code=BANKS[0][0]).exists():
        return {"banks": 0, "accounts": 0, "payouts": 0}
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    now = timezone.now()
    banks = []
    for code, name, country, currencies, success, latency, pct, fixed in BANKS:
        status, circuit = _health(Decimal(success), latency)
        banks.append(
            BankProfile.objects.create(
                code=code,
                name=name,
                country=country,
                currencies=currencies,
                success_rate=Decimal(success),
                avg_latency_ms=latency,
                fee_percent=Decimal(pct),
                fee_fixed=Decimal(fixed),
                status=status,
                circuit_state=circuit,
                daily_capacity=rng.randint(2_000, 20_000),
                last_health_check_at=now - timedelta(seconds=rng.randint(5, 90)),
            )
        )
    accounts = [
        TreasuryAccount(
            bank_profile=b,
            name=f"{b.name} {cur} float",
            currency=cur,
            balance=opening_balance(b.code, cur, seed=seed, payouts=payouts),
            min_float=Decimal(TYPICAL_AMOUNT[cur] * 100),
        )
        for b in banks
        for cur in b.currencies
    ]
    TreasuryAccount.objects.bulk_create(accounts)
    statuses = [s for s, _w in STATUS_WEIGHTS]
    weights = [w for _s, w in STATUS_WEIGHTS]
    rows = []
    for i in range(payouts):
        bank = rng.choice(banks)
        cur = rng.choice(bank.currencies)
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(minutes=rng.randint(1, 3 * 24 * 60))
        amount = Decimal(TYPICAL_AMOUNT[cur] * rng.uniform(0.05, 4)).quantize(
            Decimal("1") if cur in {"XOF", "XAF"} else Decimal("0.01")
        )
        rows.append(
            Payout(
                bank_profile=bank,
                amount=max(amount, Decimal("1")),
                currency=cur,
                status=status,
                beneficiary=f"BEN-{rng.randint(10**6, 10**7 - 1)}",
                bank_reference=f"MOLAM-DEMO-{seed}-{i:07d}",
                failure_reason="bank_timeout" if status == PayoutStatus.FAILED else "",
                attempts=0 if status == PayoutStatus.PENDING else 1,
                created_at=created,
                # a payout seeded a minute ago cannot have changed an hour later
                updated_at=min(created + timedelta(minutes=rng.randint(0, 60)), now),
            )
        )
    Payout.objects.bulk_create(rows, batch_size=1000)
    treasury.debit_settled(
        (
            (p.pk, p.bank_profile_id, p.currency, p.amount)
            for p in rows
            if p.status == PayoutStatus.SETTLED
        ),
        now=now,
    )
    return {"banks": len(banks), "accounts": len(accounts), "payouts": len(rows)}
