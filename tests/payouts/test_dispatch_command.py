"""``manage.py dispatch_payouts`` (a dry run unless --for-real) and the Celery
task ``payouts.tasks.dispatch_batch``."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from payouts.choices import PayoutStatus
from payouts.models import Payout, SimulatedBankTransfer
from payouts.tasks import dispatch_batch
from tests.factories import BankProfileFactory, PayoutFactory

pytestmark = pytest.mark.django_db


def command(*args: str) -> str:
    out = StringIO()
    call_command("dispatch_payouts", *args, stdout=out)
    return out.getvalue()


def test_without_for_real_it_sends_nothing() -> None:
    going, paused = BankProfileFactory(name="Alpha"), BankProfileFactory(name="Beta")
    PayoutFactory.create_batch(2, bank_profile=going)
    PayoutFactory(bank_profile=paused)
    now = timezone.now()
    TreasuryControl.objects.create(
        key=pause_bank_key(paused.id), enabled=True, created_at=now, updated_at=now
    )

    out = command()

    assert "dry run" in out
    assert "Alpha: 2 pending, would dispatch" in out
    assert "Beta: 1 pending, held (pause_bank)" in out
    assert set(Payout.objects.values_list("status", flat=True)) == {"pending"}
    assert not SimulatedBankTransfer.objects.exists()


def test_for_real_once_sends_one_batch() -> None:
    PayoutFactory.create_batch(3)
    out = command("--for-real", "--once", "--batch", "2", "--interval", "0")
    assert "claimed 2, sent 2" in out
    assert Payout.objects.filter(status=PayoutStatus.SENT).count() == 2


@pytest.mark.parametrize("args", [["--batch", "0"], ["--interval", "-1"]])
def test_bad_arguments_are_refused(args: list[str]) -> None:
    with pytest.raises(CommandError):
        command("--for-real", "--once", *args)


def test_the_celery_task_runs_one_batch(settings: Any) -> None:
    PayoutFactory.create_batch(3)
    result = dispatch_batch.delay(batch=2).get()
    assert result == {"claimed": 2, "sent": 2, "failed": 0, "held": 0, "settled": 0}
