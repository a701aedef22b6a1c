"""The executor's at-most-once reasoning, state by state. A worker that died
leaves its step ``running``; what happens next is decided by the step's
idempotency record, never by running the effect again blindly. The runbook
commands: test_plan_runbook.py."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.models import IdempotencyRecord
from plans.choices import PlanStatus, StepStatus
from plans.execution import leases, locks, progress, steps
from plans.models import PlanStep
from tests.factories import BankProfileFactory
from tests.plans.test_execute_plan_support import (
    ALICE,
    account_balances,
    died_running,
    effect_committed,
    executed_rows,
    make_plan,
    pause,
    reservation_left,
    run_as,
    steps_of,
    transfer,
)

pytestmark = pytest.mark.django_db


# --- recovery by the executor (a redelivered task) ------------------------------------


def test_a_step_whose_effect_committed_is_replayed_not_rerun(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "100.00"), transfer(a, b, "1.00"), status=PlanStatus.EXECUTING
    )
    died_running(plan, 0)
    effect_committed(plan, 0)
    assert account_balances(a, b) == [Decimal("900.00"), Decimal("100.00")]

    assert steps.run_plan(plan.id) == steps.EXECUTED

    assert account_balances(a, b) == [Decimal("899.00"), Decimal("101.00")]  # once each
    assert steps_of(plan) == ["done", "done"]
    assert len(executed_rows(plan, 0)) == 1
    step = PlanStep.objects.get(plan=plan, index=0)
    assert step.attempts == 2
    assert step.result["transfer"]["amount"] == "100.00"


def test_a_step_whose_effect_rolled_back_runs_once(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    died_running(plan, 0)
    reservation_left(plan, 0)

    assert steps.run_plan(plan.id) == steps.EXECUTED

    assert account_balances(a, b) == [Decimal("900.00"), Decimal("100.00")]
    assert len(executed_rows(plan, 0)) == 1


def test_a_step_whose_worker_died_before_the_effect_runs_once(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    died_running(plan, 0)

    assert steps.run_plan(plan.id) == steps.EXECUTED
    assert account_balances(a, b) == [Decimal("900.00"), Decimal("100.00")]


def test_an_old_attempt_cannot_mark_a_step_taken_over(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "1.00"), status=PlanStatus.EXECUTING)
    stale = died_running(plan, 0)
    assert steps.run_plan(plan.id) == steps.EXECUTED
    # the first attempt wakes up and reports: fenced out by its attempt number
    assert not progress.finish(stale, StepStatus.FAILED, result={}, error="late")
    assert steps_of(plan) == ["done"]


@pytest.mark.skipif("connection.vendor == 'postgresql'")
def test_sqlite_judges_a_running_step_once_its_lease_runs_out(
    accounts: Any, settings: Any
) -> None:
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    step = PlanStep.objects.get(plan=plan, index=0)
    progress.claim(step, recovering=False)  # its lease: PLAN_LEASE_SECONDS
    lease = timedelta(seconds=settings.PLAN_LEASE_SECONDS)
    claimed = timezone.now()

    assert steps.run_plan(plan.id) == steps.BUSY  # its worker may be alive
    with time_machine.travel(claimed + lease * 2 / 3):
        assert leases.renew_step(step.pk, 1)  # ...and it is: it renews
    with time_machine.travel(claimed + lease + timedelta(seconds=1)):
        assert steps.run_plan(plan.id) == steps.BUSY  # renewed: still alive
    assert steps_of(plan) == ["running"]
    with time_machine.travel(claimed + lease * 2):  # no renewal since: dead
        assert steps.run_plan(plan.id) == steps.EXECUTED
    assert account_balances(a, b) == [Decimal("900.00"), Decimal("100.00")]
    assert PlanStep.objects.get(pk=step.pk).attempts == 2


@pytest.mark.postgres
def test_a_plan_held_by_a_live_worker_is_busy(accounts: Any) -> None:
    import psycopg

    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    settings = connection.settings_dict
    dsn = f"host={settings['HOST']} port={settings['PORT'] or 5432} "
    dsn += f"user={settings['USER']} dbname={settings['NAME']}"
    with psycopg.connect(dsn, autocommit=True) as other:  # the live worker
        other.execute(
            "SELECT pg_advisory_lock(%s::int4, %s::int4)",
            [locks.LOCK_CLASS, locks._object_id(plan.id)],
        )
        assert steps.run_plan(plan.id) == steps.BUSY
        assert steps_of(plan) == ["pending"]
    # its connection closed (the worker died): PostgreSQL frees the lock as
    # soon as its backend notices, moments later
    deadline = time.monotonic() + 10
    outcome = steps.run_plan(plan.id)
    while outcome == steps.BUSY and time.monotonic() < deadline:
        time.sleep(0.05)
        outcome = steps.run_plan(plan.id)
    assert outcome == steps.EXECUTED


def test_a_control_set_after_the_check_blocks_inside_the_effect(
    accounts: Any,
) -> None:
    """The race the pre-check cannot close: the rails action refuses with
    blocked_by_control; the stored refusal is forgotten so the step runs when
    the control lifts, once."""
    a, b = accounts
    plan = make_plan(transfer(a, b, "100.00"), status=PlanStatus.EXECUTING)
    body = {"bank_profile_id": str(b.bank_profile_id), "reason": "x"}
    run_as(ALICE, "pause_bank", body)
    step = PlanStep.objects.get(plan=plan, index=0)
    assert steps._run_step(plan, step, recovering=False) == steps.BLOCKED

    assert steps_of(plan) == ["blocked"]
    assert not IdempotencyRecord.objects.filter(
        key=progress.step_key(plan.id, 0)
    ).exists()
    run_as(ALICE, "resume_bank", body)
    assert steps.run_plan(plan.id) == steps.EXECUTED
    assert account_balances(a, b) == [Decimal("900.00"), Decimal("100.00")]
    rows = OpsActionLog.objects.filter(idempotency_key=progress.step_key(plan.id, 0))
    assert sorted(rows.values_list("status", flat=True)) == ["executed", "rejected"]


def test_pausing_a_bank_already_paused_is_a_done_noop() -> None:
    bank = BankProfileFactory()
    run_as(ALICE, "pause_bank", {"bank_profile_id": str(bank.id), "reason": "x"})
    plan = make_plan(pause(bank), status=PlanStatus.EXECUTING)
    assert steps.run_plan(plan.id) == steps.EXECUTED
    step = PlanStep.objects.get(plan=plan)
    assert step.result["noop"] == "bank_already_paused"


def test_a_pause_step_without_a_reason_gets_one() -> None:
    bank = BankProfileFactory()
    plan = make_plan(
        ("pause_bank", {"bank_profile_id": str(bank.id)}), status=PlanStatus.EXECUTING
    )
    assert steps.run_plan(plan.id) == steps.EXECUTED
    control = TreasuryControl.objects.get(key=pause_bank_key(bank.id))
    assert str(plan.id) in control.value["reason"]


def test_invalid_step_fields_fail_the_plan() -> None:
    plan = make_plan(
        ("transfer_funds", {"from_account_id": "nope", "amount": "-1"}),
        status=PlanStatus.EXECUTING,
    )
    assert steps.run_plan(plan.id) == steps.FAILED
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED
    assert plan.details["errors"][0]["code"] == "validation_error"
