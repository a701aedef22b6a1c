"""POST /api/ops/execute-plan (DESIGN §8): the plan's status moves once, its
steps run on the (eager, here) worker after commit, a step a control forbids
waits and resumes, a failed step stops the plan, and every refusal changes
nothing. The approval token: test_execute_plan_approval.py; cancel-plan:
test_cancel_plan.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from plans.choices import PlanStatus
from plans.execution.progress import step_key
from plans.execution_tasks import resume_blocked_steps
from tests.helpers import assert_error, post_action
from tests.plans.test_execute_plan_support import (
    ALICE,
    balances,
    cancel,
    execute,
    executed_rows,
    executions,
    make_plan,
    pause,
    reroute,
    run_as,
    steps_of,
    topics,
    transfer,
)

pytestmark = pytest.mark.django_db


# --- the happy path ------------------------------------------------------------------


def test_execute_runs_every_step_once_and_reports_progress(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    plan = make_plan(
        transfer(rails["a"], rails["b"], "250.00"),
        reroute(rails["src"], rails["dst"], 2),
        pause(rails["src"]),
    )
    before = executions("float_rebalance", "executed")

    with on_commit():
        resp = execute(pay_admin, plan, key="exec-1")

    assert resp.status_code == 202, resp.json()
    body = resp.json()
    assert body["ok"] is True
    assert body["plan"]["id"] == str(plan.id)
    assert body["plan"]["status"] == "executing"  # the response precedes the worker
    assert body["log"]["action_type"] == "execute_plan"
    assert body["log"]["status"] == "executed"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert steps_of(plan) == ["done", "done", "done"]
    assert balances(rails) == (Decimal("750.00"), Decimal("300.00"))
    assert rails["dst"].payouts.count() == 2
    assert TreasuryControl.objects.get(key=pause_bank_key(rails["src"].id)).enabled
    details = plan.details
    assert (details["done"], details["total"], details["errors"]) == (3, 3, [])
    assert [s["status"] for s in details["steps"]] == ["done"] * 3
    assert details["execution"]["by"] == "alice"
    assert details["timings"] == {"total_ms": 1}  # generation's keys are kept
    for index in range(3):
        (row,) = executed_rows(plan, index)
        assert row.actor_id == "plan-executor"
        assert row.actor_role == "system"
    assert topics() == [
        "plans.plan.executing",
        *["plans.plan_step.running", "plans.plan_step.done"] * 3,
        "plans.plan.executed",
    ]
    assert executions("float_rebalance", "executed") == before + 1

    # the same request again: its first response, and nothing runs twice
    with on_commit():
        again = execute(pay_admin, plan, key="exec-1")
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == body
    assert balances(rails) == (Decimal("750.00"), Decimal("300.00"))


def test_finance_ops_may_execute_and_an_empty_plan_is_executed(
    finance_ops: APIClient, on_commit: Any
) -> None:
    plan = make_plan()
    with on_commit():
        resp = execute(finance_ops, plan)
    assert resp.status_code == 202, resp.json()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert (plan.details["done"], plan.details["total"]) == (0, 0)


def test_ops_may_not_execute_or_cancel(ops: APIClient) -> None:
    plan = make_plan()
    for resp in (execute(ops, plan), cancel(ops, plan)):
        assert resp.status_code == 403
        assert resp.json()["error"]["code"] == "forbidden"
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING
    assert set(OpsActionLog.objects.values_list("status", flat=True)) == {"rejected"}


# --- refusals: nothing half-done ------------------------------------------------------


def test_executing_twice_is_409_and_runs_nothing_again(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "100.00"))
    with on_commit():
        assert execute(pay_admin, plan).status_code == 202
    with on_commit():
        error = assert_error(execute(pay_admin, plan), 409, "plan_not_executable")
    assert error["fields"] == {"status": ["executed"]}
    assert balances(rails) == (Decimal("900.00"), Decimal("150.00"))
    rejected = OpsActionLog.objects.get(action_type="execute_plan", status="rejected")
    assert rejected.details["code"] == "plan_not_executable"


def test_executing_a_plan_already_executing_is_409(pay_admin: APIClient) -> None:
    plan = make_plan(status=PlanStatus.EXECUTING)
    error = assert_error(execute(pay_admin, plan), 409, "plan_not_executable")
    assert error["fields"] == {"status": ["executing"]}


@pytest.mark.parametrize(
    "status",
    [
        PlanStatus.CANCELLED,
        PlanStatus.REJECTED,
        PlanStatus.GENERATING,
        PlanStatus.FAILED,
        PlanStatus.EXECUTED,
    ],
)
def test_a_plan_that_is_not_pending_or_approved_is_409(
    pay_admin: APIClient, rails: dict[str, Any], status: str, on_commit: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "100.00"), status=status)
    with on_commit():
        error = assert_error(execute(pay_admin, plan), 409, "plan_not_executable")
    assert error["fields"] == {"status": [status]}
    plan.refresh_from_db()
    assert plan.status == status
    assert steps_of(plan) == ["pending"]
    assert balances(rails) == (Decimal("1000.00"), Decimal("50.00"))


def test_unknown_plan_is_404(pay_admin: APIClient) -> None:
    resp = post_action(
        pay_admin, "execute-plan", {"plan_id": "7d1f0f5e-4d4b-4f55-9b0b-3a6c1c1f0e11"}
    )
    assert_error(resp, 404, "plan_not_found")
    resp = post_action(
        pay_admin,
        "cancel-plan",
        {"plan_id": "7d1f0f5e-4d4b-4f55-9b0b-3a6c1c1f0e11", "reason": "x"},
    )
    assert_error(resp, 404, "plan_not_found")


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("execute-plan", {}, "plan_id"),
        ("execute-plan", {"plan_id": "not-a-uuid"}, "plan_id"),
        ("execute-plan", {"plan_id": 42}, "plan_id"),
        (
            "execute-plan",
            {"plan_id": "PLAN", "approval_token": "x" * 256},
            "approval_token",
        ),
        (
            "execute-plan",
            {"plan_id": "PLAN", "approval_token": ["t"]},
            "approval_token",
        ),
        ("cancel-plan", {"plan_id": "PLAN"}, "reason"),
        ("cancel-plan", {"plan_id": "PLAN", "reason": ""}, "reason"),
        ("cancel-plan", {"plan_id": "PLAN", "reason": "x" * 501}, "reason"),
        ("cancel-plan", {"reason": "why"}, "plan_id"),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    pay_admin: APIClient, action: str, body: dict[str, Any], field: str
) -> None:
    plan = make_plan()
    body = {k: (str(plan.id) if v == "PLAN" else v) for k, v in body.items()}
    resp = post_action(pay_admin, action, body)
    assert_error(resp, 400, "validation_error", field)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING


def test_a_step_naming_an_unknown_action_is_422_and_changes_nothing(
    pay_admin: APIClient,
) -> None:
    plan = make_plan(("wire_money_abroad", {"amount": "1"}))
    error = assert_error(execute(pay_admin, plan), 422, "plan_step_invalid")
    assert error["fields"] == {"steps": ["wire_money_abroad"]}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING


# --- blocked steps wait, then resume --------------------------------------------------


def test_a_step_a_pause_forbids_waits_blocked_and_resumes_after(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    bank = {"bank_profile_id": str(rails["dst"].id), "reason": "maintenance"}
    run_as(ALICE, "pause_bank", bank)
    plan = make_plan(
        reroute(rails["src"], rails["dst"], 3), transfer(rails["a"], rails["b"], "5.00")
    )
    with on_commit():
        assert execute(pay_admin, plan).status_code == 202

    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTING
    assert steps_of(plan) == ["blocked", "pending"]
    step = plan.details["steps"][0]
    assert step["error"] == f"blocked by pause_bank_{rails['dst'].id}"
    assert rails["dst"].payouts.count() == 0
    assert not OpsActionLog.objects.filter(action_type="reroute_payouts").exists()
    assert "plans.plan_step.blocked" in topics()
    # beat, while the pause holds: nothing to resume
    with on_commit():
        assert resume_blocked_steps.delay().get() == 0
    assert steps_of(plan) == ["blocked", "pending"]

    run_as(ALICE, "resume_bank", bank)
    with on_commit():
        assert resume_blocked_steps.delay().get() == 1

    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert steps_of(plan) == ["done", "done"]
    assert rails["dst"].payouts.count() == 3
    assert len(executed_rows(plan, 0)) == 1


def test_a_global_freeze_blocks_transfers_but_not_pauses(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    from django.utils import timezone

    now = timezone.now()
    TreasuryControl.objects.create(
        key="freeze_global", enabled=True, created_at=now, updated_at=now
    )
    plan = make_plan(pause(rails["src"]), transfer(rails["a"], rails["b"], "5.00"))
    with on_commit():
        execute(pay_admin, plan)
    assert steps_of(plan) == ["done", "blocked"]
    plan.refresh_from_db()
    assert plan.details["steps"][1]["error"] == "blocked by freeze_global"
    assert balances(rails) == (Decimal("1000.00"), Decimal("50.00"))

    TreasuryControl.objects.filter(key="freeze_global").update(enabled=False)
    with on_commit():
        resume_blocked_steps.delay()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    assert balances(rails) == (Decimal("995.00"), Decimal("55.00"))


# --- a failed step stops the plan -----------------------------------------------------


def test_a_failed_step_stops_the_plan_with_what_ran(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    plan = make_plan(
        transfer(rails["a"], rails["b"], "100.00"),
        transfer(rails["a"], rails["b"], "5000.00"),  # more than the balance
        transfer(rails["b"], rails["a"], "1.00"),
    )
    before = executions("float_rebalance", "failed")
    with on_commit():
        assert execute(pay_admin, plan).status_code == 202

    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED
    assert steps_of(plan) == ["done", "failed", "pending"]
    assert balances(rails) == (Decimal("900.00"), Decimal("150.00"))
    details = plan.details
    assert (details["done"], details["total"], details["failed_step"]) == (1, 3, 1)
    assert details["errors"] == [
        {
            "index": 1,
            "action": "transfer_funds",
            "code": "insufficient_funds",
            "message": "The source account's balance does not cover this amount.",
        }
    ]
    assert topics()[-2:] == ["plans.plan_step.failed", "plans.plan.failed"]
    assert executions("float_rebalance", "failed") == before + 1
    refused = OpsActionLog.objects.get(idempotency_key=step_key(plan.id, 1))
    assert (refused.status, refused.details["code"]) == (
        "rejected",
        "insufficient_funds",
    )
