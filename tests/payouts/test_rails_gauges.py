"""The rails' gauges on /metrics: each bank's breaker (not closed = 1), the
payouts a dispatcher may send now and how long the oldest has waited — what
the alerts "breaker open" and "dispatcher stalled" read. Payouts held back by
a freeze, a pause, a breaker or a dispute are not the dispatcher's to send."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from controls.keys import FREEZE_GLOBAL
from controls.models import TreasuryControl
from payouts.choices import CircuitState
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import post_action
from tests.payouts.helpers import drain

pytestmark = pytest.mark.django_db


def gauges() -> dict[str, list[tuple[dict[str, str], float]]]:
    resp = Client().get("/metrics")
    assert resp.status_code == 200
    return {
        family.name: [(s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(resp.content.decode())
        if family.name.startswith(("molam_ops_dispatch", "molam_ops_bank_circuit"))
    }


def backlog() -> tuple[float, float]:
    found = gauges()
    ((_, count),) = found["molam_ops_dispatch_backlog"]
    ((_, age),) = found["molam_ops_dispatch_oldest_wait_seconds"]
    return count, age


def circuits() -> dict[str, float]:
    return {
        labels["bank_name"]: value
        for labels, value in gauges()["molam_ops_bank_circuit_open"]
    }


def test_empty_queue_reads_zero() -> None:
    assert backlog() == (0, 0)
    assert circuits() == {}


def test_backlog_and_the_oldest_wait() -> None:
    now = timezone.now()
    bank = BankProfileFactory()
    PayoutFactory(bank_profile=bank, updated_at=now - timedelta(minutes=7))
    PayoutFactory(bank_profile=bank, updated_at=now - timedelta(minutes=1))
    PayoutFactory(bank_profile=bank, status="sent", updated_at=now - timedelta(hours=1))
    count, age = backlog()
    assert count == 2
    assert 7 * 60 <= age < 7 * 60 + 30
    # a dispatcher that runs drains it
    drain(batch=10)
    assert backlog() == (0, 0)


def test_held_payouts_are_not_the_dispatchers(
    pay_admin: APIClient, finance_ops: APIClient
) -> None:
    old = timezone.now() - timedelta(hours=2)
    frozen, paused, broken, half, free = BankProfileFactory.create_batch(5)
    broken.circuit_state = CircuitState.OPEN
    broken.save()
    half.circuit_state = CircuitState.HALF_OPEN
    half.save()
    for bank in (frozen, paused, broken, half):
        PayoutFactory(bank_profile=bank, updated_at=old)
    PayoutFactory(bank_profile=free, disputed=True, updated_at=old)
    scope = {"bank_profile_id": str(frozen.id)}
    body = {"scope": scope, "reason": "incident"}
    assert post_action(finance_ops, "freeze-payouts", body).status_code == 200
    body = {"bank_profile_id": str(paused.id), "reason": "maintenance"}
    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    assert backlog() == (0, 0)
    assert circuits() == {
        frozen.name: 0,
        paused.name: 0,
        broken.name: 1,
        half.name: 1,
        free.name: 0,
    }

    PayoutFactory(bank_profile=free, updated_at=timezone.now())
    count, age = backlog()
    assert count == 1 and age < 30
    # a global freeze (in force once its two signatures are in) holds it back
    now = timezone.now()
    TreasuryControl.objects.create(
        key=FREEZE_GLOBAL, enabled=True, created_at=now, updated_at=now
    )
    assert backlog() == (0, 0)


def test_the_wait_grows_while_nothing_moves(bank: Any) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        PayoutFactory(bank_profile=bank, updated_at=start)
        assert backlog() == (1, 0)
        clock.shift(timedelta(minutes=6))
        assert backlog() == (1, 360)
