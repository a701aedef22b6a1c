"""The runbook commands for a plan a worker left behind (DESIGN §8):
``execute_stuck_plan`` settles each step by its idempotency record (the
``resume_plan`` action), and ``rollback_failed_plan`` undoes what a failed
plan did (the ``rollback_plan`` action); both are dry runs unless
``--for-real``, and both act as the system unless ``--operator`` names one."""

from __future__ import annotations

import uuid
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from molam_ops.actions import runner
from molam_ops.errors import OpsError
from plans.choices import PlanStatus
from plans.execution import steps
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.payouts.helpers import seed_rates
from tests.plans.test_execute_plan_support import (
    ALICE,
    account_balances,
    died_running,
    effect_committed,
    executed_rows,
    make_plan,
    pause,
    reroute,
    reservation_left,
    run_as,
    steps_of,
    transfer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates(db: None) -> None:
    seed_rates()  # a rollback's approval rule prices what it moves back


# --- execute_stuck_plan ---------------------------------------------------------------


def test_execute_stuck_plan_is_a_dry_run_by_default(accounts: Any) -> None:
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "10.00"), transfer(a, b, "20.00"), status=PlanStatus.EXECUTING
    )
    died_running(plan, 0)
    effect_committed(plan, 0)
    out = StringIO()

    call_command("execute_stuck_plan", str(plan.id), stdout=out)

    text = out.getvalue()
    assert "2 unfinished steps (1 mark_done, 1 requeue)" in text
    assert f"{b.bank_profile.name} XOF: 1 step to run, 20.00 XOF to transfer" in text
    assert '"decision"' not in text  # the step list is for --verbose
    assert "dry run" in text
    assert steps_of(plan) == ["running", "pending"]
    assert not OpsActionLog.objects.filter(action_type="resume_plan").exists()

    out = StringIO()
    call_command("execute_stuck_plan", str(plan.id), "--verbose", stdout=out)
    assert '"decision": "mark_done"' in out.getvalue()


def test_execute_stuck_plan_settles_each_step_by_its_key(
    accounts: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "10.00"),
        transfer(a, b, "20.00"),
        transfer(a, b, "30.00"),
        status=PlanStatus.EXECUTING,
    )
    died_running(plan, 0)
    effect_committed(plan, 0)  # committed: mark done
    died_running(plan, 1)
    reservation_left(plan, 1)  # rolled back: reset and run again
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("execute_stuck_plan", str(plan.id), "--for-real", stdout=out)

    assert "3 unfinished steps (1 mark_done, 1 requeue, 1 reset)" in out.getvalue()
    row = OpsActionLog.objects.get(action_type="resume_plan")
    assert (row.status, row.actor_id, row.actor_role) == (
        "executed",
        "runbook:execute_stuck_plan",
        "system",
    )
    decisions = {s["index"]: s["decision"] for s in row.details["steps"]}
    assert decisions == {0: "mark_done", 1: "reset", 2: "requeue"}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED  # the queued task ran the rest
    assert account_balances(a, b) == [Decimal("940.00"), Decimal("60.00")]
    for index in range(3):
        assert len(executed_rows(plan, index)) == 1


def test_execute_stuck_plan_refuses_a_plan_not_executing() -> None:
    plan = make_plan(status=PlanStatus.EXECUTED)
    with pytest.raises(CommandError, match="executed, not executing"):
        call_command("execute_stuck_plan", str(plan.id))
    with pytest.raises(CommandError, match="plan_not_executing"):
        call_command("execute_stuck_plan", str(plan.id), "--for-real")
    rejected = OpsActionLog.objects.get(action_type="resume_plan")
    assert rejected.status == "rejected"
    with pytest.raises(CommandError, match="not a plan id"):
        call_command("execute_stuck_plan", "42")
    with pytest.raises(CommandError, match="no plan"):
        call_command("execute_stuck_plan", str(uuid.uuid4()))


# --- rollback_failed_plan -------------------------------------------------------------


@pytest.fixture
def failed_risk_plan(django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A risk plan that paused a bank, moved its payouts away, moved funds,
    then failed on a transfer the balance did not cover."""
    risky, safe = BankProfileFactory(), BankProfileFactory()
    payouts = PayoutFactory.create_batch(2, bank_profile=risky)
    a = TreasuryAccountFactory(bank_profile=risky, balance=Decimal("100.00"))
    b = TreasuryAccountFactory(bank_profile=safe, balance=Decimal("0.00"))
    plan = make_plan(
        pause(risky),
        reroute(risky, safe, 5),
        transfer(a, b, "60.00"),
        transfer(a, b, "60.00"),  # 40 left: fails
        plan_type="risk_mitigation",
        status=PlanStatus.EXECUTING,
    )
    assert steps.run_plan(plan.id) == steps.FAILED
    return {"plan": plan, "risky": risky, "safe": safe, "a": a, "b": b, "p": payouts}


def test_rollback_dry_run_sums_up_per_bank_and_currency(
    failed_risk_plan: dict[str, Any],
) -> None:
    f = failed_risk_plan
    out = StringIO()
    call_command("rollback_failed_plan", str(f["plan"].id), stdout=out)
    lines = out.getvalue().splitlines()
    total = sum((p.amount for p in f["p"]), Decimal("0"))
    risky = f["risky"].name
    assert lines == [
        f"{risky}: resumed",
        f"{risky} XOF: 2 payouts back, {total:,.2f} XOF, 60.00 XOF transferred back",
        "3 steps to undo; dry run: nothing changed (add --for-real)",
    ]
    assert f["safe"].payouts.count() == 2

    out = StringIO()
    call_command("rollback_failed_plan", str(f["plan"].id), "--verbose", stdout=out)
    ids = sorted(line.split()[-1] for line in out.getvalue().splitlines()[2:4])
    assert ids == sorted(str(p.id) for p in f["p"])


def test_rollback_undoes_each_done_step_once(
    failed_risk_plan: dict[str, Any],
) -> None:
    f = failed_risk_plan
    plan = f["plan"]
    assert account_balances(f["a"], f["b"]) == [Decimal("40.00"), Decimal("60.00")]

    # without an operator the bank stays paused: nothing can move back into it
    with pytest.raises(CommandError, match="incomplete"):
        call_command(
            "rollback_failed_plan", str(plan.id), "--for-real", stdout=StringIO()
        )
    plan.refresh_from_db()
    assert plan.details["rollback"]["complete"] is False
    assert plan.details["rollback"]["steps"][0]["code"] == "operator_required"

    out = StringIO()
    call_command(
        "rollback_failed_plan",
        str(plan.id),
        "--for-real",
        "--operator",
        "amadou",
        stdout=out,
    )

    assert "rolled back" in out.getvalue()
    assert "2 payouts back" in out.getvalue()
    assert not TreasuryControl.objects.get(key=pause_bank_key(f["risky"].id)).enabled
    assert f["risky"].payouts.count() == 2
    assert account_balances(f["a"], f["b"]) == [Decimal("100.00"), Decimal("0.00")]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.FAILED
    rollback = plan.details["rollback"]
    assert rollback["complete"] is True
    assert [s["status"] for s in rollback["steps"]] == ["done"] * 3
    resumed = OpsActionLog.objects.get(action_type="resume_bank", status="executed")
    assert (resumed.actor_id, resumed.actor_role) == ("amadou", "pay_admin")
    back = OpsActionLog.objects.get(
        action_type="reroute_payouts", status="executed", actor_id="plan-recovery"
    )
    assert back.actor_role == "system"
    actions = OpsActionLog.objects.filter(action_type="rollback_plan")
    assert [(r.actor_id, r.status) for r in actions.order_by("seq")] == [
        ("runbook:rollback_failed_plan", "executed"),
        ("amadou", "executed"),
    ]

    # run again: refused, nothing moves twice
    with pytest.raises(CommandError, match="plan_already_rolled_back"):
        call_command(
            "rollback_failed_plan",
            str(plan.id),
            "--for-real",
            "--operator",
            "amadou",
            stdout=StringIO(),
        )
    assert account_balances(f["a"], f["b"]) == [Decimal("100.00"), Decimal("0.00")]
    assert f["risky"].payouts.count() == 2


def test_rollback_leaves_a_bank_the_plan_did_not_pause() -> None:
    bank, other = BankProfileFactory(), BankProfileFactory()
    run_as(ALICE, "pause_bank", {"bank_profile_id": str(bank.id), "reason": "x"})
    a = TreasuryAccountFactory(bank_profile=other, balance=Decimal("1.00"))
    b = TreasuryAccountFactory(balance=Decimal("0"))
    plan = make_plan(pause(bank), transfer(a, b, "5.00"), status=PlanStatus.EXECUTING)
    assert steps.run_plan(plan.id) == steps.FAILED
    call_command("rollback_failed_plan", str(plan.id), "--for-real", stdout=StringIO())
    assert TreasuryControl.objects.get(key=pause_bank_key(bank.id)).enabled
    plan.refresh_from_db()
    assert plan.details["rollback"] | {"at": None} == {
        "at": None,
        "by": "runbook:rollback_failed_plan",
        "reason": "manage.py rollback_failed_plan",
        "complete": True,
        "steps": [],
    }


def test_rollback_refuses_a_plan_that_did_not_run() -> None:
    plan = make_plan(status=PlanStatus.PENDING)
    with pytest.raises(CommandError, match="not failed"):
        call_command("rollback_failed_plan", str(plan.id), "--for-real")
    assert not OpsActionLog.objects.exists()


def test_beat_take_up_action_is_system_only() -> None:
    plan = make_plan(status=PlanStatus.EXECUTING)
    with pytest.raises(OpsError, match="roles do not allow"):
        runner.run("execute_stuck_plan", ALICE, {"plan_id": str(plan.id)})


def test_reroute_rollback_moves_back_only_what_the_step_moved(
    django_capture_on_commit_callbacks: Any,
) -> None:
    src, dst = BankProfileFactory(), BankProfileFactory()
    mine = PayoutFactory.create_batch(2, bank_profile=src)
    a = TreasuryAccountFactory(balance=Decimal("0"))
    b = TreasuryAccountFactory(balance=Decimal("0"))
    plan = make_plan(
        reroute(src, dst, 2), transfer(a, b, "1.00"), status=PlanStatus.EXECUTING
    )
    assert steps.run_plan(plan.id) == steps.FAILED
    already_there = PayoutFactory(bank_profile=dst)
    call_command("rollback_failed_plan", str(plan.id), "--for-real", stdout=StringIO())
    assert {p.id for p in src.payouts.all()} == {p.id for p in mine}
    assert list(dst.payouts.all()) == [already_there]
