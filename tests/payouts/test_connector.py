"""The simulated bank connector: latency and failure rate from settings (per
bank overridable), and a ledger that honours ``bank_reference`` — a reference
the bank already paid is acknowledged, never paid twice."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from payouts.connector import (
    ALREADY_PAID,
    FAILED,
    PAID,
    SimulatedBankConnector,
    behaviour_for,
)
from payouts.models import SimulatedBankTransfer
from tests.factories import BankProfileFactory, PayoutFactory

pytestmark = pytest.mark.django_db


def test_pays_once_and_books_it() -> None:
    payout = PayoutFactory()

    result = SimulatedBankConnector().send(payout)

    assert (result.outcome, result.ok, result.reason) == (PAID, True, "")
    paid = SimulatedBankTransfer.objects.get()
    assert paid.bank_reference == payout.bank_reference
    assert (paid.payout_id, paid.bank_profile_id) == (payout.id, payout.bank_profile_id)
    assert (paid.amount, paid.currency, paid.attempts) == (payout.amount, "XOF", 1)
    assert paid.paid_at == paid.last_attempt_at


def test_a_reference_already_paid_is_acknowledged_not_paid_again() -> None:
    payout = PayoutFactory()
    bank = SimulatedBankConnector()
    assert bank.send(payout).outcome == PAID

    again = bank.send(payout)

    assert (again.outcome, again.ok) == (ALREADY_PAID, True)
    paid = SimulatedBankTransfer.objects.get()
    assert paid.attempts == 2
    assert paid.last_attempt_at > paid.paid_at


def test_a_reference_reused_for_another_amount_is_refused() -> None:
    first = PayoutFactory(bank_reference="REF-1")
    SimulatedBankConnector().send(first)
    first.amount = Decimal("99.00")  # the same reference, another payment

    result = SimulatedBankConnector().send(first)

    assert (result.outcome, result.ok) == (FAILED, False)
    assert result.reason == "bank_reference_conflict"
    assert SimulatedBankTransfer.objects.get().amount == Decimal("1500.00")


def test_failure_rate_fails_before_booking(settings: Any) -> None:
    settings.CONNECTOR_FAILURE_RATE = 1.0
    result = SimulatedBankConnector().send(PayoutFactory())
    assert (result.outcome, result.reason) == (FAILED, "bank_unavailable")
    assert not SimulatedBankTransfer.objects.exists()


def test_failure_rate_is_a_rate(settings: Any) -> None:
    settings.CONNECTOR_FAILURE_RATE = 0.3
    bank = SimulatedBankConnector(rng=random.Random(42))
    results = [bank.send(p).ok for p in PayoutFactory.create_batch(200)]
    assert 0.2 < results.count(False) / 200 < 0.4


def test_latency_is_waited_and_measured(settings: Any) -> None:
    settings.CONNECTOR_LATENCY_MS = 40
    result = SimulatedBankConnector().send(PayoutFactory())
    assert result.ok
    assert result.latency_ms >= 40


def test_per_bank_overrides_by_code_or_id(settings: Any) -> None:
    by_code, by_id, plain = BankProfileFactory.create_batch(3)
    settings.CONNECTOR_LATENCY_MS = 5
    settings.CONNECTOR_FAILURE_RATE = 0.0
    settings.CONNECTOR_BANKS = {
        by_code.code: {"failure_rate": 1},
        str(by_id.id): {"latency_ms": 900, "failure_rate": 0.25},
    }
    assert behaviour_for(by_code.id, by_code.code).failure_rate == 1.0
    assert behaviour_for(by_code.id, by_code.code).latency_ms == 5
    assert behaviour_for(by_id.id, by_id.code).latency_ms == 900
    assert behaviour_for(plain.id, plain.code).failure_rate == 0.0
    bank = SimulatedBankConnector()
    assert not bank.send(PayoutFactory(bank_profile=by_code)).ok
    assert bank.send(PayoutFactory(bank_profile=plain)).ok
