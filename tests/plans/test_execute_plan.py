"""POST /api/ops/execute-plan and /api/ops/cancel-plan (DESIGN §8): the plan's
status moves once, its steps run on the (eager, here) worker after commit, the
approval token is single use, and every refusal changes nothing."""

from __future__ import annotations

from collections.abc import Callable
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
from plans.models import Plan
from tests.factories import (
    BankProfileFactory,
    PayoutFactory,
    TreasuryAccountFactory,
)
from tests.helpers import post_action, sign
from tests.plans.test_execute_plan_support import (
    ALICE,
    cancel,
    execute,
    executed_rows,
    executions,
    make_plan,
    open_plan_approval,
    pause,
    reroute,
    run_as,
    steps_of,
    topics,
    transfer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run what the action queued after its commit (the eager worker)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def rails() -> dict[str, Any]:
    src, dst = BankProfileFactory(), BankProfileFactory()
    return {
        "src": src,
        "dst": dst,
        "a": TreasuryAccountFactory(bank_profile=src, balance=Decimal("1000.00")),
        "b": TreasuryAccountFactory(bank_profile=dst, balance=Decimal("50.00")),
        "payouts": PayoutFactory.create_batch(3, bank_profile=src),
    }


def balances(rails: dict[str, Any]) -> tuple[Decimal, Decimal]:
    rails["a"].refresh_from_db()
    rails["b"].refresh_from_db()
    return rails["a"].balance, rails["b"].balance


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


def assert_refused(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.json()
    body = resp.json()
    assert body["ok"] is False
    assert body["error"]["code"] == code
    return body


def test_executing_twice_is_409_and_runs_nothing_again(
    pay_admin: APIClient, rails: dict[str, Any], on_commit: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "100.00"))
    with on_commit():
        assert execute(pay_admin, plan).status_code == 202
    with on_commit():
        body = assert_refused(execute(pay_admin, plan), 409, "plan_not_executable")
    assert body["error"]["fields"] == {"status": ["executed"]}
    assert balances(rails) == (Decimal("900.00"), Decimal("150.00"))
    rejected = OpsActionLog.objects.get(action_type="execute_plan", status="rejected")
    assert rejected.details["code"] == "plan_not_executable"


def test_executing_a_plan_already_executing_is_409(pay_admin: APIClient) -> None:
    plan = make_plan(status=PlanStatus.EXECUTING)
    body = assert_refused(execute(pay_admin, plan), 409, "plan_not_executable")
    assert body["error"]["fields"] == {"status": ["executing"]}


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
        body = assert_refused(execute(pay_admin, plan), 409, "plan_not_executable")
    assert body["error"]["fields"] == {"status": [status]}
    plan.refresh_from_db()
    assert plan.status == status
    assert steps_of(plan) == ["pending"]
    assert balances(rails) == (Decimal("1000.00"), Decimal("50.00"))


def test_unknown_plan_is_404(pay_admin: APIClient) -> None:
    resp = post_action(
        pay_admin, "execute-plan", {"plan_id": "7d1f0f5e-4d4b-4f55-9b0b-3a6c1c1f0e11"}
    )
    assert_refused(resp, 404, "plan_not_found")
    resp = post_action(
        pay_admin,
        "cancel-plan",
        {"plan_id": "7d1f0f5e-4d4b-4f55-9b0b-3a6c1c1f0e11", "reason": "x"},
    )
    assert_refused(resp, 404, "plan_not_found")


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
    refused = assert_refused(resp, 400, "validation_error")
    assert field in refused["error"]["fields"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING


def test_a_step_naming_an_unknown_action_is_422_and_changes_nothing(
    pay_admin: APIClient,
) -> None:
    plan = make_plan(("wire_money_abroad", {"amount": "1"}))
    body = assert_refused(execute(pay_admin, plan), 422, "plan_step_invalid")
    assert body["error"]["fields"] == {"steps": ["wire_money_abroad"]}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.PENDING


# --- the approval token (DESIGN §7) ---------------------------------------------------


@pytest.fixture
def approved_plan(
    rails: dict[str, Any], client_for: Any
) -> tuple[Plan, str, dict[str, Any]]:
    """A plan whose approval two other people signed: (plan, token, rails)."""
    plan = make_plan(
        transfer(rails["a"], rails["b"], "100.00"), total_amount=Decimal("20000")
    )
    approval = open_plan_approval(plan)
    first = sign(client_for("finance_ops", sub="bruno"), approval["id"])
    assert first.status_code == 200, first.json()
    last = sign(client_for("pay_admin", sub="amadou"), approval["id"])
    assert last.status_code == 200, last.json()
    token = last.json()["approval"]["approval_token"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED  # the plans listener ran
    return plan, token, rails


def test_a_plan_needing_approval_refuses_without_its_token(
    pay_admin: APIClient, approved_plan: Any
) -> None:
    plan, _token, rails = approved_plan
    body = assert_refused(execute(pay_admin, plan), 409, "approval_required")
    assert "approval_token" in body["error"]["fields"]
    assert_refused(execute(pay_admin, plan, token=""), 409, "approval_required")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    assert balances(rails) == (Decimal("1000.00"), Decimal("50.00"))


def test_a_wrong_or_foreign_token_is_403(
    pay_admin: APIClient, approved_plan: Any, client_for: Any
) -> None:
    plan, token, _rails = approved_plan
    assert_refused(
        execute(pay_admin, plan, token="forged"), 403, "approval_token_invalid"
    )
    # the token of another plan's approval is foreign to this one
    other = make_plan(total_amount=Decimal("20000"))
    other_approval = open_plan_approval(other)
    sign(client_for("finance_ops", sub="bruno"), other_approval["id"])
    last = sign(client_for("pay_admin", sub="amadou"), other_approval["id"])
    foreign = last.json()["approval"]["approval_token"]
    assert_refused(
        execute(pay_admin, plan, token=foreign), 403, "approval_token_invalid"
    )
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    # the refusals did not use the right token up
    assert execute(pay_admin, plan, token=token).status_code == 202


def test_the_token_executes_once_then_is_used(
    pay_admin: APIClient, finance_ops: APIClient, approved_plan: Any
) -> None:
    plan, token, _rails = approved_plan
    resp = execute(pay_admin, plan, token=token)
    assert resp.status_code == 202, resp.json()
    assert resp.json()["log"]["details"]["approval_id"] == str(plan.approval_id)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTING  # (its worker has not run yet)
    assert plan.details["execution"]["approval_id"] == str(plan.approval_id)
    # a second call with the same token (another key, another person): used
    assert_refused(execute(finance_ops, plan, token=token), 403, "approval_token_used")


def test_a_pending_approval_has_no_token_yet(
    pay_admin: APIClient, rails: dict[str, Any], client_for: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "1.00"))
    approval = open_plan_approval(plan)
    sign(client_for("finance_ops", sub="bruno"), approval["id"])  # 1 of 2
    assert_refused(execute(pay_admin, plan), 409, "approval_required")
    assert_refused(
        execute(pay_admin, plan, token="guess"), 403, "approval_token_invalid"
    )


def test_a_declined_plan_is_rejected_and_cannot_execute(
    pay_admin: APIClient, rails: dict[str, Any], client_for: Any
) -> None:
    plan = make_plan(transfer(rails["a"], rails["b"], "1.00"))
    approval = open_plan_approval(plan)
    resp = post_action(
        client_for("finance_ops", sub="bruno"),
        f"approve/{approval['id']}",
        {"decision": "decline"},
    )
    assert resp.status_code == 200, resp.json()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.REJECTED
    body = assert_refused(execute(pay_admin, plan), 409, "plan_not_executable")
    assert body["error"]["fields"] == {"status": ["rejected"]}


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
    assert_refused(execute(pay_admin, plan), 409, "plan_not_executable")
    assert_refused(cancel(pay_admin, plan), 409, "plan_not_cancellable")


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
    outcome = steps._call(plan, claimed, step_key(plan.id, 0))
    steps._record(claimed, step_key(plan.id, 0), outcome)
    assert steps.run_plan(plan.id) == steps.STOPPED
    assert steps_of(plan) == ["done", "cancelled"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED
    assert balances(rails) == (Decimal("990.00"), Decimal("60.00"))


def test_cancel_a_pending_plan_then_it_cannot_execute(pay_admin: APIClient) -> None:
    plan = make_plan(("pause_bank", {"bank_profile_id": "x"}))
    assert cancel(pay_admin, plan).status_code == 200
    assert steps_of(plan) == ["cancelled"]
    assert_refused(execute(pay_admin, plan), 409, "plan_not_executable")


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
        body = assert_refused(cancel(pay_admin, other), 409, "plan_not_cancellable")
        assert body["error"]["fields"] == {"status": [status]}
