"""The circuit breaker per bank: its transitions (pure, then persisted), the
bank health it drives, and the automatic pause through the runner when it
opens — audited as ``system`` with the breaker's figures, resumable only by a
person."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import Principal, system_principal
from payouts import breaker
from payouts.breaker import BreakerConfig, Circuit, step
from payouts.choices import BankStatus, CircuitState, PayoutStatus
from payouts.models import BankProfile
from tests.factories import BankProfileFactory, PayoutFactory
from tests.payouts.helpers import dispatch, ledger

NOW = timezone.now()
CFG = BreakerConfig(
    consecutive_failures=3,
    window=10,
    min_calls=6,
    failure_rate=Decimal("0.5"),
    cooldown=timedelta(seconds=30),
)
OPEN, HALF, CLOSED = CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED


def run(circuit: Circuit, outcomes: str) -> tuple[Circuit, list[str | None]]:
    """Feed outcomes ("s" success, "f" failure) one by one."""
    triggers = []
    for o in outcomes:
        circuit, trigger = step(circuit, ok=o == "s", latency_ms=100, now=NOW, cfg=CFG)
        triggers.append(trigger)
    return circuit, triggers


# --- transitions, pure ----------------------------------------------------------


def test_closed_opens_after_n_consecutive_failures() -> None:
    circuit, triggers = run(Circuit(), "ssff")
    assert (circuit.state, circuit.consecutive_failures) == (CLOSED, 2)
    circuit, triggers = run(circuit, "f")
    assert circuit.state == OPEN
    assert circuit.opened_at == NOW
    assert triggers == ["consecutive_failures"]


def test_a_success_resets_the_run_of_failures() -> None:
    circuit, _t = run(Circuit(), "ffsff")
    assert (circuit.state, circuit.consecutive_failures) == (CLOSED, 2)


def test_closed_opens_on_the_failure_rate_over_the_window() -> None:
    # never 3 in a row; 3 of 5 failed, but 5 calls are below min_calls
    circuit, _t = run(Circuit(), "sffsf")
    assert circuit.state == CLOSED
    # the sixth call: 3 of 6 reaches the 50% rate, whatever the call's outcome
    circuit, triggers = run(circuit, "s")
    assert (circuit.state, triggers) == (OPEN, ["failure_rate"])
    assert circuit.failure_rate() == Decimal("0.5")


def test_failure_rate_trips_once_min_calls_are_seen() -> None:
    circuit, triggers = run(Circuit(), "sfsfsf")
    assert circuit.state == OPEN
    assert triggers[-1] == "failure_rate"
    assert (circuit.failures, len(circuit.window)) == (3, 6)


def test_the_window_keeps_only_the_last_outcomes() -> None:
    circuit, _t = run(Circuit(), "s" * 25)
    assert len(circuit.window) == CFG.window


def test_open_holds_whatever_comes_late() -> None:
    circuit, _t = run(Circuit(), "fff")
    opened_at = circuit.opened_at
    circuit, triggers = run(circuit, "ssf")
    assert (circuit.state, circuit.opened_at, triggers) == (OPEN, opened_at, [None] * 3)


def test_half_open_closes_on_success_and_forgets_the_past() -> None:
    circuit, _t = run(Circuit(HALF, 3, [[0, 100]] * 5, NOW), "s")
    assert circuit == Circuit(CLOSED, 0, [[1, 100]], None)


def test_half_open_opens_again_on_failure() -> None:
    later = NOW + timedelta(minutes=1)
    circuit, trigger = step(
        Circuit(HALF, 3, [], NOW), ok=False, latency_ms=5, now=later, cfg=CFG
    )
    assert (circuit.state, circuit.opened_at, trigger) == (OPEN, later, "trial_failed")


# --- persisted, with health -----------------------------------------------------


@pytest.fixture
def breaker_settings(settings: Any) -> Any:
    settings.PAYOUT_BREAKER_CONSECUTIVE_FAILURES = 3
    settings.PAYOUT_BREAKER_WINDOW = 10
    settings.PAYOUT_BREAKER_MIN_CALLS = 6
    settings.PAYOUT_BREAKER_FAILURE_RATE = 0.5
    settings.PAYOUT_BREAKER_COOLDOWN_SECONDS = 30
    return settings


@pytest.mark.django_db
def test_record_outcome_updates_health(breaker_settings: Any) -> None:
    bank = BankProfileFactory(last_health_check_at=None)
    for ok, ms in ((True, 100), (True, 300), (False, 200), (True, 400)):
        assert breaker.record_outcome(bank.id, ok=ok, latency_ms=ms, now=NOW) is None
    bank.refresh_from_db()
    assert bank.success_rate == Decimal("0.75")
    assert bank.avg_latency_ms == 250
    assert bank.status == BankStatus.RED  # 75% success
    assert bank.circuit_state == CLOSED
    assert bank.last_health_check_at == NOW
    assert bank.recent_outcomes == [[1, 100], [1, 300], [0, 200], [1, 400]]


@pytest.mark.django_db
def test_record_outcome_reports_the_opening(breaker_settings: Any) -> None:
    bank = BankProfileFactory()
    results = [
        breaker.record_outcome(bank.id, ok=False, latency_ms=50, now=NOW)
        for _ in range(3)
    ]
    assert results[:2] == [None, None]
    transition = results[2]
    assert transition is not None
    assert transition.opened
    assert (transition.before, transition.after) == (CLOSED, OPEN)
    assert transition.figures["trigger"] == "consecutive_failures"
    assert transition.figures["consecutive_failures"] == 3
    assert transition.figures["window_failures"] == 3
    assert transition.figures["failure_rate"] == "1.0000"
    assert transition.figures["thresholds"]["consecutive_failures"] == 3
    bank.refresh_from_db()
    assert (bank.circuit_state, bank.status) == (OPEN, BankStatus.RED)
    assert bank.circuit_opened_at == NOW


# --- the automatic pause, through the dispatcher --------------------------------


def pause_rows(bank: BankProfile) -> Any:
    return OpsActionLog.objects.filter(
        action_type="pause_bank", target__bank_profile_id=str(bank.id)
    ).order_by("seq")


@pytest.fixture
def failing_bank(db: None, breaker_settings: Any) -> BankProfile:
    bank = BankProfileFactory()
    breaker_settings.CONNECTOR_BANKS = {bank.code: {"failure_rate": 1}}
    return bank


def test_an_open_breaker_pauses_the_bank_as_system(failing_bank: BankProfile) -> None:
    other = BankProfileFactory()
    PayoutFactory.create_batch(5, bank_profile=failing_bank)
    PayoutFactory.create_batch(2, bank_profile=other)

    report = dispatch(batch=3)  # three failures in a row: the breaker opens

    assert report.failed == 3
    failing_bank.refresh_from_db()
    assert failing_bank.circuit_state == OPEN
    assert failing_bank.status == BankStatus.RED
    control = TreasuryControl.objects.get(key=pause_bank_key(failing_bank.id))
    assert control.is_active()
    assert control.updated_by == "circuit-breaker"
    [row] = pause_rows(failing_bank)
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        "circuit-breaker",
        "system",
    )
    evidence = row.details["evidence"]
    assert evidence["trigger"] == "consecutive_failures"
    assert evidence["consecutive_failures"] == 3
    assert evidence["window_size"] == 3
    assert evidence["previous_state"] == "closed"
    assert "3/3" in row.details["reason"]
    # the paused bank gets nothing more; the others go on
    report = dispatch()
    assert report.sent == 2
    assert report.failed == 0
    assert failing_bank.payouts.filter(status=PayoutStatus.PENDING).count() == 2


def test_only_a_person_resumes_a_bank_the_breaker_paused(
    failing_bank: BankProfile,
) -> None:
    PayoutFactory.create_batch(3, bank_profile=failing_bank)
    dispatch()
    body = {"bank_profile_id": str(failing_bank.id), "reason": "looks fine"}

    with pytest.raises(OpsError) as refused:
        runner.run("resume_bank", system_principal("circuit-breaker"), body)

    assert (refused.value.status, refused.value.code) == (403, "forbidden")
    assert TreasuryControl.objects.get(key=pause_bank_key(failing_bank.id)).is_active()
    rejected = OpsActionLog.objects.get(action_type="resume_bank")
    assert (rejected.status, rejected.actor_role) == ("rejected", "system")
    person = Principal(id="alice", roles=frozenset({"pay_admin"}))
    assert runner.run("resume_bank", person, body).status == 200


def test_a_second_opening_of_a_paused_bank_is_harmless(
    failing_bank: BankProfile,
) -> None:
    """Already paused (by a person, say): the breaker's pause is refused 409,
    which is recorded and swallowed; the dispatcher goes on."""
    person = Principal(id="alice", roles=frozenset({"pay_admin"}))
    body = {"bank_profile_id": str(failing_bank.id), "reason": "manual"}
    assert runner.run("pause_bank", person, body).status == 200
    transition = breaker.Transition(
        failing_bank.id,
        CLOSED,
        OPEN,
        NOW,
        {
            "trigger": "consecutive_failures",
            "window_failures": 3,
            "window_size": 3,
            "consecutive_failures": 3,
        },
    )

    breaker.pause_bank_for(transition)
    breaker.pause_bank_for(transition)  # the same opening again: a replay

    rows = list(pause_rows(failing_bank).values_list("actor_id", "status"))
    assert rows == [("alice", "executed"), ("circuit-breaker", "rejected")]


def test_cooldown_half_open_trial_then_closed(
    failing_bank: BankProfile, settings: Any
) -> None:
    person = Principal(id="alice", roles=frozenset({"pay_admin"}))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        PayoutFactory.create_batch(6, bank_profile=failing_bank)
        dispatch(batch=3)
        failing_bank.refresh_from_db()
        assert failing_bank.circuit_state == OPEN
        # a person resumes it at once; the breaker still holds it back
        body = {"bank_profile_id": str(failing_bank.id)}
        assert runner.run("resume_bank", person, body).status == 200
        assert dispatch().claimed == 0

        traveller.move_to(start + timedelta(seconds=31))
        settings.CONNECTOR_BANKS = {}  # the bank has recovered
        report = dispatch()  # half-open: one trial payout only
        assert (report.claimed, report.sent) == (1, 1)
        failing_bank.refresh_from_db()
        assert failing_bank.circuit_state == CLOSED
        assert failing_bank.status == BankStatus.GREEN
        assert failing_bank.recent_outcomes == [[1, failing_bank.avg_latency_ms]]

        assert dispatch().sent == 2  # closed: the rest goes
    assert len(ledger(failing_bank)) == 3


def test_a_failed_trial_opens_again_and_pauses_again(
    failing_bank: BankProfile,
) -> None:
    person = Principal(id="alice", roles=frozenset({"pay_admin"}))
    body = {"bank_profile_id": str(failing_bank.id)}
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        PayoutFactory.create_batch(6, bank_profile=failing_bank)
        dispatch(batch=3)
        assert runner.run("resume_bank", person, body).status == 200
        traveller.move_to(start + timedelta(seconds=31))

        report = dispatch()

        assert (report.claimed, report.failed) == (1, 1)
        failing_bank.refresh_from_db()
        assert failing_bank.circuit_state == OPEN
        assert failing_bank.circuit_opened_at == start + timedelta(seconds=31)
        rows = list(pause_rows(failing_bank).values_list("actor_id", "status"))
        assert rows == [("circuit-breaker", "executed")] * 2
        assert pause_rows(failing_bank).last().details["evidence"]["trigger"] == (
            "trial_failed"
        )


def test_one_trial_at_a_time(failing_bank: BankProfile) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        BankProfile.objects.filter(pk=failing_bank.pk).update(
            circuit_state=OPEN, circuit_opened_at=start
        )
        assert breaker.admit(start).blocked == {failing_bank.id}
        traveller.move_to(start + timedelta(seconds=30))
        first = breaker.admit(timezone.now())
        assert first.trial == {failing_bank.id}
        failing_bank.refresh_from_db()
        assert (failing_bank.circuit_state, failing_bank.status) == (HALF, "yellow")
        # a second dispatcher meanwhile: the trial is out
        assert breaker.admit(timezone.now()).blocked == {failing_bank.id}
        # a trial nobody answered (its dispatcher died) expires after a cooldown
        traveller.move_to(start + timedelta(seconds=61))
        assert breaker.admit(timezone.now()).trial == {failing_bank.id}


def test_a_paused_bank_gets_no_trial(failing_bank: BankProfile) -> None:
    start = timezone.now()
    BankProfile.objects.filter(pk=failing_bank.pk).update(
        circuit_state=OPEN, circuit_opened_at=start - timedelta(minutes=5)
    )
    admission = breaker.admit(start, held={failing_bank.id})
    assert admission.blocked == {failing_bank.id}
    assert admission.trial == frozenset()
    failing_bank.refresh_from_db()
    assert failing_bank.circuit_state == HALF
    assert failing_bank.circuit_trial_at is None
