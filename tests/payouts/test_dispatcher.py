"""The payout dispatcher: it sends pending payouts through the simulated bank,
records the answers, and honours every control on every dispatch (global
freeze, bank freeze, bank pause, disputes) — at the claim and again right
before each send."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from controls.models import TreasuryControl
from molam_ops.actions import runner
from molam_ops.identity import Principal
from payouts import dispatcher, gates, services
from payouts.choices import BankStatus, PayoutStatus
from payouts.connector import SimulatedBankConnector
from payouts.models import BankProfile, Payout, SimulatedBankTransfer
from tests.factories import BankProfileFactory, PayoutFactory
from tests.payouts.helpers import dispatch, ledger, seed_rates, statuses

pytestmark = pytest.mark.django_db

ALICE = Principal(id="alice", roles=frozenset({"pay_admin"}))


@pytest.fixture(autouse=True)
def _rates() -> None:
    seed_rates()  # retries price the payout in USD (approval thresholds)


def control(key: str, **kw: Any) -> TreasuryControl:
    now = timezone.now()
    return TreasuryControl.objects.create(
        key=key, enabled=True, created_at=now, updated_at=now, **kw
    )


def test_sends_pending_payouts_and_records_the_answers() -> None:
    bank = BankProfileFactory()
    payouts = PayoutFactory.create_batch(3, bank_profile=bank)

    report = dispatch()

    assert (report.claimed, report.sent, report.failed) == (3, 3, 0)
    for payout in payouts:
        payout.refresh_from_db()
        assert payout.status == PayoutStatus.SENT
        assert payout.attempts == 1
        assert payout.failure_reason == ""
    paid = ledger(bank)
    assert sorted(t.bank_reference for t in paid) == sorted(
        p.bank_reference for p in payouts
    )
    assert all(t.attempts == 1 for t in paid)
    bank.refresh_from_db()
    assert bank.status == BankStatus.GREEN
    assert bank.success_rate == 1
    assert bank.last_health_check_at is not None
    assert len(bank.recent_outcomes) == 3
    # nothing left: the next batch claims nothing and sends nothing again
    assert dispatch().claimed == 0
    assert len(ledger()) == 3


def test_a_failed_send_is_recorded_with_its_reason(settings: Any) -> None:
    bank = BankProfileFactory()
    settings.CONNECTOR_BANKS = {bank.code: {"failure_rate": 1}}
    payout = PayoutFactory(bank_profile=bank)

    report = dispatch()

    assert (report.sent, report.failed) == (0, 1)
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.FAILED
    assert payout.failure_reason == "bank_unavailable"
    assert payout.attempts == 1
    assert ledger() == []
    # a failed payout is not picked up again by itself: only a retry does that
    assert dispatch().claimed == 0


def test_oldest_first_in_small_batches() -> None:
    bank = BankProfileFactory()
    now = timezone.now()
    old, mid, new = (
        PayoutFactory(bank_profile=bank, created_at=now - timedelta(minutes=m))
        for m in (30, 20, 10)
    )
    assert dispatch(batch=2).sent == 2
    assert statuses(old, mid, new) == ["sent", "sent", "pending"]


def test_global_freeze_stops_everything() -> None:
    a, b = BankProfileFactory(), BankProfileFactory()
    payouts = [PayoutFactory(bank_profile=a), PayoutFactory(bank_profile=b)]
    control(FREEZE_GLOBAL)

    report = dispatch()

    assert report.claimed == 0
    assert statuses(*payouts) == ["pending", "pending"]
    assert ledger() == []


@pytest.mark.parametrize("key_of", [freeze_bank_key, pause_bank_key])
def test_a_blocked_bank_gets_nothing_and_others_continue(key_of: Any) -> None:
    blocked, other = BankProfileFactory(), BankProfileFactory()
    held = PayoutFactory.create_batch(2, bank_profile=blocked)
    going = PayoutFactory.create_batch(2, bank_profile=other)
    control(key_of(blocked.id))

    report = dispatch()

    assert report.sent == 2
    assert statuses(*held) == ["pending", "pending"]
    assert statuses(*going) == ["sent", "sent"]
    assert ledger(blocked) == []


def test_an_expired_control_blocks_nothing() -> None:
    bank = BankProfileFactory()
    payout = PayoutFactory(bank_profile=bank)
    start = timezone.now()
    control(pause_bank_key(bank.id), expires_at=start + timedelta(minutes=5))
    with time_machine.travel(start, tick=False) as traveller:
        assert dispatch().claimed == 0
        traveller.move_to(start + timedelta(minutes=5, seconds=1))
        assert dispatch().sent == 1
    assert statuses(payout) == ["sent"]


def test_disputed_payouts_are_never_claimed() -> None:
    bank = BankProfileFactory()
    disputed = PayoutFactory(bank_profile=bank, disputed=True)
    fine = PayoutFactory(bank_profile=bank)

    assert dispatch().sent == 1
    assert statuses(disputed, fine) == ["pending", "sent"]
    assert [t.payout_id for t in ledger()] == [fine.id]


class ActingBank(SimulatedBankConnector):
    """The real simulated bank; the first time it is called, someone acts
    (``on_first_send``) — as an operator would while a batch is in flight."""

    def __init__(self, on_first_send: Any) -> None:
        super().__init__()
        self.on_first_send = on_first_send
        self.sent_to: list[Any] = []

    def send(self, payout: Payout) -> Any:
        if not self.sent_to:
            self.on_first_send(payout)
        self.sent_to.append(payout.bank_profile_id)
        return super().send(payout)


def _freeze(bank: BankProfile) -> None:
    result = runner.run(
        "freeze_payouts",
        ALICE,
        {"scope": {"bank_profile_id": str(bank.id)}, "reason": "mid-batch"},
    )
    assert result.status == 200


def test_a_freeze_during_a_batch_stops_the_next_sends_to_that_bank() -> None:
    frozen, other = BankProfileFactory(), BankProfileFactory()
    now = timezone.now()
    # interleaved, oldest first: frozen, other, frozen, other, frozen
    payouts = [
        PayoutFactory(
            bank_profile=frozen if i % 2 == 0 else other,
            created_at=now - timedelta(minutes=10 - i),
        )
        for i in range(5)
    ]
    bank = ActingBank(lambda _p: _freeze(frozen))

    report = dispatch(connector=bank)

    # the payout in hand when the freeze landed went; nothing after it did
    assert report.claimed == 5
    assert report.sent == 3
    assert report.held == {gates.BANK_FREEZE: 2}
    assert statuses(*payouts) == ["sent", "sent", "pending", "sent", "pending"]
    assert bank.sent_to == [frozen.id, other.id, other.id]
    assert [t.payout_id for t in ledger(frozen)] == [payouts[0].id]


class ClaimOnlyGate:
    """The installed gate at the claim, and no re-check before each send."""

    def __init__(self, inner: gates.DispatchGate) -> None:
        self.inner = inner

    def blocked(self) -> gates.Blocked:
        return self.inner.blocked()

    def hold_reason(self, **_kw: Any) -> str | None:
        return None


def test_without_the_per_dispatch_check_the_batch_runs_on() -> None:
    """What the check buys (and what the benchmark prices): the same scenario
    with a gate asked only at the claim sends the whole claimed batch."""
    frozen = BankProfileFactory()
    PayoutFactory.create_batch(3, bank_profile=frozen)
    bank = ActingBank(lambda _p: _freeze(frozen))
    installed = gates.gate()
    gates.set_gate(ClaimOnlyGate(installed))
    try:
        report = dispatch(connector=bank)
    finally:
        gates.set_gate(installed)

    assert report.sent == 3
    # and the next claim honours the freeze anyway
    PayoutFactory(bank_profile=frozen)
    assert dispatch().claimed == 0


def test_a_dispute_during_a_batch_stops_that_payout() -> None:
    bank = BankProfileFactory()
    now = timezone.now()
    first, second = (
        PayoutFactory(bank_profile=bank, created_at=now - timedelta(minutes=m))
        for m in (2, 1)
    )

    def dispute(_payout: Payout) -> None:
        result = runner.run(
            "mark_dispute",
            ALICE,
            {"payout_id": str(second.id), "reason": "beneficiary complaint"},
        )
        assert result.status == 200

    report = dispatch(connector=ActingBank(dispute))

    assert report.sent == 1
    assert report.held == {"disputed_or_moved": 1}
    second.refresh_from_db()
    assert (second.status, second.disputed, second.attempts) == ("pending", True, 0)
    assert [t.payout_id for t in ledger()] == [first.id]
    assert dispatch().claimed == 0  # and it is never claimed again


def test_a_processing_payout_the_bank_already_paid_is_paid_once() -> None:
    """The dispatcher died after the bank paid and before it recorded the
    answer; an operator retries; the next dispatch is acknowledged, not paid."""
    bank = BankProfileFactory()
    payout = PayoutFactory(bank_profile=bank)
    [claimed] = services.claim_pending(batch=1)
    assert SimulatedBankConnector().send(claimed).outcome == "paid"
    # ... and the process died here: the payout stays "processing"
    result = runner.run("retry_payout", ALICE, {"payout_id": str(payout.id)})
    assert result.body["payout"]["status"] == "pending"

    report = dispatch()

    assert report.sent == 1
    payout.refresh_from_db()
    assert payout.status == PayoutStatus.SENT
    [paid] = ledger()
    assert paid.bank_reference == payout.bank_reference
    assert paid.attempts == 2  # it reached the bank twice, was paid once


def test_a_retry_while_in_flight_still_pays_once() -> None:
    """An operator retries the very payout the dispatcher is sending."""
    bank = BankProfileFactory()
    payout = PayoutFactory(bank_profile=bank)

    def retry(p: Payout) -> None:
        runner.run("retry_payout", ALICE, {"payout_id": str(p.id)})

    report = dispatch(connector=ActingBank(retry))
    assert report.claimed == 1
    payout.refresh_from_db()
    # the answer found it moved: left pending for the next dispatch
    assert (payout.status, payout.attempts) == ("pending", 1)

    assert dispatch().sent == 1
    payout.refresh_from_db()
    assert (payout.status, payout.attempts) == ("sent", 2)
    assert SimulatedBankTransfer.objects.get().attempts == 2


def test_no_gate_installed_means_no_dispatch() -> None:
    PayoutFactory()
    installed = gates.gate()
    gates.set_gate(None)
    try:
        with pytest.raises(gates.GateNotInstalled):
            dispatch()
    finally:
        gates.set_gate(installed)
    assert Payout.objects.get().status == PayoutStatus.PENDING


def test_the_per_dispatch_check_is_one_query(
    django_assert_num_queries: Any,
) -> None:
    """Controls and the payout's own state in one round trip: what the
    benchmark prices against a dispatch without it."""
    payout = PayoutFactory()
    [claimed] = services.claim_pending(batch=1)
    with django_assert_num_queries(1):
        assert (
            gates.gate().hold_reason(
                payout_id=payout.pk, bank_profile_id=claimed.bank_profile_id
            )
            is None
        )


def test_settle_moves_old_sent_payouts() -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        sent = PayoutFactory(status=PayoutStatus.SENT, updated_at=start)
        traveller.move_to(start + timedelta(seconds=29))
        assert dispatcher.settle(after_seconds=30, limit=10) == 0
        traveller.move_to(start + timedelta(seconds=31))
        assert dispatcher.settle(after_seconds=30, limit=10) == 1
        assert dispatcher.settle(after_seconds=0, limit=10) == 0  # disabled
    assert statuses(sent) == ["settled"]


def test_run_loop_once_dispatches_and_settles() -> None:
    PayoutFactory.create_batch(2)
    total = dispatcher.run_loop(
        batch=5, interval=0, settle_after=30, stop=threading.Event(), once=True
    )
    assert (total.claimed, total.sent) == (2, 2)
