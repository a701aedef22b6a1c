"""The controls' answer to the dispatcher (the ``payouts.gates`` port): which
banks are blocked right now, and whether a claimed payout may go, each in one
query, honouring expiry at read time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone

from controls.dispatch_gate import ControlsDispatchGate, blocked_from_keys
from controls.keys import FREEZE_GLOBAL, feature_key, freeze_bank_key, pause_bank_key
from controls.models import TreasuryControl, active_q
from payouts import gates
from payouts.choices import PayoutStatus
from payouts.models import Payout
from tests.factories import BankProfileFactory, PayoutFactory

pytestmark = pytest.mark.django_db


def control(key: str, **kw: Any) -> None:
    now = timezone.now()
    TreasuryControl.objects.create(
        key=key, created_at=now, updated_at=now, **{"enabled": True, **kw}
    )


def test_installed_at_start_up() -> None:
    assert isinstance(gates.gate(), ControlsDispatchGate)


def test_nothing_blocked() -> None:
    assert gates.gate().blocked() == gates.Blocked()


def test_reports_freezes_and_pauses_in_one_query(
    django_assert_num_queries: Any,
) -> None:
    frozen, paused, both, free, lapsed, off = BankProfileFactory.create_batch(6)
    control(freeze_bank_key(frozen.id))
    control(pause_bank_key(paused.id))
    control(pause_bank_key(both.id))
    control(freeze_bank_key(both.id))
    control(pause_bank_key(lapsed.id), expires_at=timezone.now() - timedelta(seconds=1))
    control(freeze_bank_key(off.id), enabled=False)
    control(feature_key("new-ui"))
    control("pause_bank_not-a-uuid")

    with django_assert_num_queries(1):
        blocked = gates.gate().blocked()

    assert blocked.global_freeze is False
    assert dict(blocked.banks) == {
        frozen.id: gates.BANK_FREEZE,
        paused.id: gates.BANK_PAUSE,
        both.id: gates.BANK_FREEZE,
    }
    assert blocked.reason_for(free.id) is None
    assert blocked.reason_for(lapsed.id) is None


def test_global_freeze_blocks_every_bank() -> None:
    bank = BankProfileFactory()
    control(FREEZE_GLOBAL)
    blocked = gates.gate().blocked()
    assert blocked.global_freeze
    assert blocked.reason_for(bank.id) == gates.GLOBAL_FREEZE


def blocked_by_orm() -> gates.Blocked:
    """The gate's answer through the ORM and ``active_q``: the reference its
    plain SQL is held to."""
    keys = TreasuryControl.objects.filter(
        active_q(timezone.now())
        & (
            Q(key=FREEZE_GLOBAL)
            | Q(key__startswith="freeze_bank_")
            | Q(key__startswith="pause_bank_")
        )
    ).values_list("key", flat=True)
    return blocked_from_keys(keys)


def test_the_plain_sql_agrees_with_active_q() -> None:
    """The gate's hot-path SQL must say what the ORM's ``active_q`` says, on
    every kind of row (both backends run this)."""
    banks = BankProfileFactory.create_batch(4)
    now = timezone.now()
    control(freeze_bank_key(banks[0].id), expires_at=now + timedelta(minutes=1))
    control(pause_bank_key(banks[1].id), expires_at=now - timedelta(microseconds=1))
    control(pause_bank_key(banks[2].id), enabled=False)
    control(freeze_bank_key(banks[3].id))
    control(pause_bank_key(banks[3].id), expires_at=now + timedelta(days=300))
    control("freezeXbank_x")  # LIKE's "_" would match it; the prefix does not
    control(FREEZE_GLOBAL, expires_at=now - timedelta(seconds=5))

    assert gates.gate().blocked() == blocked_by_orm()
    assert dict(gates.gate().blocked().banks) == {
        banks[0].id: gates.BANK_FREEZE,
        banks[3].id: gates.BANK_FREEZE,
    }


def hold(payout: Any) -> str | None:
    return gates.gate().hold_reason(
        payout_id=payout.pk, bank_profile_id=payout.bank_profile_id
    )


def test_hold_reason_before_each_send() -> None:
    """Right before a send: the payout's bank's controls and its own state, in
    order of precedence, with expiry read at call time."""
    bank = BankProfileFactory()
    payout = PayoutFactory(bank_profile=bank, status=PayoutStatus.PROCESSING)
    other = BankProfileFactory()
    now = timezone.now()
    assert hold(payout) is None
    control(freeze_bank_key(other.id))  # another bank's freeze: not ours
    control(pause_bank_key(bank.id), expires_at=now - timedelta(seconds=1))
    assert hold(payout) is None

    Payout.objects.filter(pk=payout.pk).update(disputed=True)
    assert hold(payout) == gates.NOT_DISPATCHABLE
    control(pause_bank_key(other.id))
    TreasuryControl.objects.filter(key=pause_bank_key(bank.id)).update(
        expires_at=now + timedelta(minutes=1)
    )
    assert hold(payout) == gates.BANK_PAUSE
    control(freeze_bank_key(bank.id))
    assert hold(payout) == gates.BANK_FREEZE
    control(FREEZE_GLOBAL)
    assert hold(payout) == gates.GLOBAL_FREEZE


@pytest.mark.parametrize(
    "status", [PayoutStatus.PENDING, PayoutStatus.SENT, PayoutStatus.FAILED]
)
def test_a_payout_no_longer_processing_is_held(status: str) -> None:
    assert hold(PayoutFactory(status=status)) == gates.NOT_DISPATCHABLE


def test_an_unknown_payout_is_held() -> None:
    bank = BankProfileFactory()
    reason = gates.gate().hold_reason(payout_id=uuid.uuid4(), bank_profile_id=bank.id)
    assert reason == gates.NOT_DISPATCHABLE
