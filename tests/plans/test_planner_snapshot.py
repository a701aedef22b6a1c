"""The snapshot read from the database, and a plan made from it."""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from controls.models import TreasuryControl
from payouts.choices import CircuitState, PayoutStatus
from plans.planner.assignment import bucket_of
from plans.planner.planning import plan
from plans.planner.snapshot import build_snapshot, read_snapshot
from plans.planner.types import Snapshot
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rails():
    dear = BankProfileFactory(
        code="dear", fee_percent=D("0.0200"), fee_fixed=D("0.50"), daily_capacity=100
    )
    cheap = BankProfileFactory(
        code="cheap", fee_percent=D("0.0050"), fee_fixed=D("0.10"), daily_capacity=48
    )
    shut = BankProfileFactory(code="shut", fee_percent=D("0.0001"))
    for amount in ("1000.00", "1010.00", "5000.00"):
        PayoutFactory(bank_profile=dear, amount=D(amount), currency="XOF")
    PayoutFactory(bank_profile=dear, amount=D("9999"), disputed=True)
    PayoutFactory(bank_profile=dear, status=PayoutStatus.SETTLED)
    PayoutFactory(bank_profile=cheap, status=PayoutStatus.PROCESSING)
    now = timezone.now()
    TreasuryControl.objects.create(
        key=f"pause_bank_{shut.id}", enabled=True, created_at=now, updated_at=now
    )
    return dear, cheap, shut


def test_snapshot_aggregates_pending_payouts_by_bank_currency_and_bucket(rails):
    dear, cheap, shut = rails
    with CaptureQueriesContext(connection) as queries:
        snapshot = read_snapshot("routing_optimization", timeframe_hours=12)
    assert len(queries) <= 6  # aggregates, not a row per payout
    classes = sorted(snapshot.payout_classes, key=lambda c: c.amount)
    # 1,000 and 1,010 share a quarter-octave bucket; 5,000 has its own;
    # the disputed payout is left out
    assert [(c.count, c.amount) for c in classes] == [
        (2, D("2010.00")),
        (1, D("5000.00")),
    ]
    assert bucket_of(1000.0) == bucket_of(1010.0) != bucket_of(5000.0)
    assert classes[0].amount_min == D("1000.00")
    assert classes[0].amount_max == D("1010.00")
    banks = {b.id: b for b in snapshot.banks}
    assert banks[str(shut.id)].paused is True
    assert banks[str(dear.id)].paused is False
    assert banks[str(dear.id)].capacity == 50  # 100 a day, over 12 hours
    assert banks[str(cheap.id)].capacity == 23  # 24, less one in flight
    assert banks[str(dear.id)].failure_rate == D("0.0100")
    assert snapshot.usd_rates["XOF"] > 0
    assert snapshot.accounts == ()


def test_failure_rate_comes_from_the_breaker_window_once_it_is_full():
    bank = BankProfileFactory(
        recent_outcomes=[[0, 100]] * 4 + [[1, 100]] * 6,
        circuit_state=CircuitState.CLOSED,
    )
    (snap_bank,) = read_snapshot("risk_mitigation").banks
    assert snap_bank.id == str(bank.id)
    assert snap_bank.failure_rate == D("0.4000")


def test_accounts_forecast_pending_and_recent_outflow():
    bank = BankProfileFactory()
    account = TreasuryAccountFactory(
        bank_profile=bank, currency="XOF", balance=D("100"), min_float=D("50")
    )
    PayoutFactory(bank_profile=bank, amount=D("700.00"), currency="XOF")
    PayoutFactory(
        bank_profile=bank, amount=D("1400.00"), currency="XOF", status="settled"
    )
    snapshot = read_snapshot("float_rebalance", timeframe_hours=24)
    assert snapshot.payout_classes == ()
    (acc,) = snapshot.accounts
    assert acc.id == str(account.id)
    # 700 pending + 1,400 paid over 7 days, one day of it: 200
    assert acc.forecast_outflow == D("900.00")


def test_plan_from_the_database_snapshot_is_json_and_moves_to_the_cheap_bank(rails):
    dear, cheap, _shut = rails
    data = build_snapshot("routing_optimization")
    text = json.dumps(data, sort_keys=True)  # plain data: stored, hashed, sent
    assert (
        Snapshot.from_dict(json.loads(text)).digest()
        == Snapshot.from_dict(data).digest()
    )
    result = plan("routing_optimization", data, {"min_success_rate": "0.9"})
    assert result.status == "ok"
    assert {
        (s.fields["from_bank_id"], s.fields["to_bank_id"]) for s in result.steps
    } == {(str(dear.id), str(cheap.id))}
    assert result.payout_count == 3
