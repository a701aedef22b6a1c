"""Several dispatchers at once on real PostgreSQL: they share the queue
(``SELECT … FOR UPDATE SKIP LOCKED`` + a conditional claim) and no payout
reaches the bank twice. Threads with their own connections, real commits."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payouts.models import Payout, SimulatedBankTransfer
from tests.factories import BankProfileFactory, PayoutFactory
from tests.payouts.helpers import drain

pytestmark = pytest.mark.postgres


def test_two_dispatchers_share_the_queue_without_double_sends(tx_db: None) -> None:
    banks = BankProfileFactory.create_batch(3)
    now = timezone.now()
    for i in range(60):
        PayoutFactory(
            bank_profile=banks[i % 3], created_at=now - timedelta(seconds=60 - i)
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            drain(batch=5)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert set(Payout.objects.values_list("status", flat=True)) == {"sent"}
    assert set(Payout.objects.values_list("attempts", flat=True)) == {1}
    transfers = SimulatedBankTransfer.objects.all()
    assert transfers.count() == 60
    assert {t.attempts for t in transfers} == {1}
