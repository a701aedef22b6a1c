"""POST /api/ops/cancel-plan (DESIGN §8): the steps not yet run never run, a
running one finishes, a cancelled plan cannot execute, replays and finished
plans."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from plans.choices import PlanStatus
from plans.execution.progress import step_key
from plans.execution_tasks import resume_blocked_steps
from tests.helpers import assert_error, post_action
from tests.plans.test_execute_plan_support import (
    ALICE,
    balances,
    cancel,
    execute,
    executions,
    make_plan,
    reroute,
    run_as,
    steps_of,
    transfer,
)

pytestmark = pytest.mark.django_db


# --- cancel ---------------------------------------------------------------------------


def test_cancel_stops_the_remaining_steps(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    run_as(
        ALICE, "pause_bank", {"bank_profile_id": str(rails["dst"].id), "reason": "x"}
    )
    plan = make_plan(
        transfer(rails["b"], rails["a"], "10.00"),  # out of a paused bank: runs
        reroute(rails["src"], rails["dst"], 1),  # into it: blocked
        transfer(rails["b"], rails["a"], "10.00"),
    )
    with on_commit():
        execute(pay_admin, plan)
    assert steps_of(plan) == ["done", "blocked", "pending"]
    before = executions("float_rebalance", "cancelled")

    with on_commit():
        resp = cancel(pay_admin, plan, "plan superseded")

    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["plan"]["status"] == "cancelled"
    assert body["log"]["details"]["steps_cancelled"] == [1, 2]
    assert body["log"]["details"]["previous_status"] == "executing"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert steps_of(plan) == ["done", "cancelled", "cancelled"]
    assert plan.details["cancelled"]["reason"] == "plan superseded"
    assert executions("float_rebalance", "cancelled") == before + 1
    # the control lifts: nothing resumes, nothing more moves
    run_as(ALICE, "resume_bank", {"bank_profile_id": str(rails["dst"].id)})
    with on_commit():
        assert resume_blocked_steps.delay().get() == 0
    assert balances(rails) == (Decimal("1010.00"), Decimal("40.00"))
    assert rails["dst"].payouts.count() == 0
    assert_error(execute(pay_admin, plan), 409, "plan_not_executable")
    assert_error(cancel(pay_admin, plan), 409, "plan_not_cancellable")


def test_a_running_step_finishes_after_cancel(
    finance_ops: APIClient, rails: dict[str, Any]
) -> None:
    from plans.execution import progress, steps
    from plans.models import PlanStep

    plan = make_plan(
        transfer(rails["a"], rails["b"], "10.00"),
        transfer(rails["a"], rails["b"], "10.00"),
        status=PlanStatus.EXECUTING,
    )
    first = PlanStep.objects.get(plan=plan, index=0)
    claimed = progress.claim(first, recovering=False)  # a worker took step 0
    assert claimed is not None

    assert cancel(finance_ops, plan).status_code == 200
    assert steps_of(plan) == ["running", "cancelled"]

    # the worker finishes its step; the plan stays cancelled, step 1 never runs
    outcome = steps._call(plan, claimed, step_key(plan.id, 0), chosen=None)
    steps._record(claimed, step_key(plan.id, 0), outcome, chosen=None)
    assert steps.run_plan(plan.id) == steps.STOPPED
    assert steps_of(plan) == ["done", "cancelled"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert balances(rails) == (Decimal("990.00"), Decimal("60.00"))


def test_cancel_a_pending_plan_then_it_cannot_execute(pay_admin: APIClient) -> None:
    plan = make_plan(("pause_bank", {"bank_profile_id": "x"}))
    assert cancel(pay_admin, plan).status_code == 200
    assert steps_of(plan) == ["cancelled"]
    assert_error(execute(pay_admin, plan), 409, "plan_not_executable")


def test_cancel_replays_and_refuses_finished_plans(pay_admin: APIClient) -> None:
    plan = make_plan()
    first = post_action(
        pay_admin, "cancel-plan", {"plan_id": str(plan.id), "reason": "r"}, key="c1"
    )
    again = post_action(
        pay_admin, "cancel-plan", {"plan_id": str(plan.id), "reason": "r"}, key="c1"
    )
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    for status in (PlanStatus.EXECUTED, PlanStatus.FAILED, PlanStatus.REJECTED):
        other = make_plan(status=status)
        error = assert_error(cancel(pay_admin, other), 409, "plan_not_cancellable")
        assert error["fields"] == {"status": [status]}


def test_a_running_step_that_fails_after_cancel_is_recorded_failed(
    finance_ops: APIClient, rails: dict[str, Any]
) -> None:
    from plans.choices import StepStatus
    from plans.execution import progress
    from plans.models import PlanStep

    plan = make_plan(
        transfer(rails["a"], rails["b"], "10.00"),
        transfer(rails["a"], rails["b"], "10.00"),
        status=PlanStatus.EXECUTING,
    )
    claimed = progress.claim(PlanStep.objects.get(plan=plan, index=0), recovering=False)
    assert claimed is not None
    assert cancel(finance_ops, plan).status_code == 200

    # its worker reports a failure: the step says so, the plan stays cancelled
    assert progress.finish(claimed, StepStatus.FAILED, result={}, error="bank down")
    assert steps_of(plan) == ["failed", "cancelled"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
