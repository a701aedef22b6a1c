"""Recovery as audited actions: ``POST /api/ops/resume-plan`` settles a stuck
plan's steps and queues it again, ``POST /api/ops/rollback-plan`` runs the
inverse of every done step; roles, idempotency, status refusals, audit rows,
signatures above the thresholds, and the plan admin's buttons."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from approvals.models import ApprovalRequest
from audit.models import OpsActionLog
from controls.keys import pause_bank_key
from controls.models import TreasuryControl
from plans.choices import PlanStatus
from plans.execution import steps
from plans.models import Plan
from tests.controls.test_admin import (
    FORBIDDEN,
    browser,
    choose_action,
    confirm_form,
    csrf_of,
    messages_of,
    staff_user,
)
from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.helpers import assert_error, audit_rows, post_action, sign
from tests.payouts.helpers import seed_rates
from tests.plans.test_execute_plan_support import (
    account_balances,
    died_running,
    effect_committed,
    executed_rows,
    make_plan,
    pause,
    reroute,
    reservation_left,
    steps_of,
    transfer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rates(db: None) -> None:
    seed_rates()


def resume(client: Any, plan: Plan, **kw: Any) -> Any:
    return post_action(client, "resume-plan", {"plan_id": str(plan.id)}, **kw)


def rollback(client: Any, plan: Plan, reason: str = "bad plan", **kw: Any) -> Any:
    body = {"plan_id": str(plan.id), "reason": reason}
    return post_action(client, "rollback-plan", body, **kw)


@pytest.fixture
def stuck(accounts: Any) -> dict[str, Any]:
    """An executing plan whose worker died: step 0 committed, step 1 did not,
    step 2 never started."""
    a, b = accounts
    plan = make_plan(
        transfer(a, b, "10.00"),
        transfer(a, b, "20.00"),
        transfer(a, b, "30.00"),
        status=PlanStatus.EXECUTING,
    )
    died_running(plan, 0)
    effect_committed(plan, 0)
    died_running(plan, 1)
    reservation_left(plan, 1)
    return {"plan": plan, "a": a, "b": b}


@pytest.fixture
def failed(django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """A risk plan that paused a bank, moved its 2 payouts away, moved 60.00,
    then failed on a transfer the balance did not cover."""
    risky, safe = BankProfileFactory(), BankProfileFactory()
    payouts = PayoutFactory.create_batch(2, bank_profile=risky)
    a = TreasuryAccountFactory(bank_profile=risky, balance=Decimal("100.00"))
    b = TreasuryAccountFactory(bank_profile=safe, balance=Decimal("0.00"))
    plan = make_plan(
        pause(risky),
        reroute(risky, safe, 5),
        transfer(a, b, "60.00"),
        transfer(a, b, "60.00"),
        plan_type="risk_mitigation",
        status=PlanStatus.EXECUTING,
    )
    assert steps.run_plan(plan.id) == steps.FAILED
    return {"plan": plan, "risky": risky, "safe": safe, "a": a, "b": b, "p": payouts}


# --- roles ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["ops", "auditor"])
def test_people_who_do_not_execute_plans_are_refused(
    client_for: Any, stuck: dict[str, Any], failed: dict[str, Any], role: str
) -> None:
    client = client_for(role, sub="chloe")
    assert_error(resume(client, stuck["plan"]), 403, "forbidden")
    assert_error(rollback(client, failed["plan"]), 403, "forbidden")
    rows = OpsActionLog.objects.filter(actor_id="chloe").order_by("seq")
    assert [(r.action_type, r.status) for r in rows] == [
        ("resume_plan", "rejected"),
        ("rollback_plan", "rejected"),
    ]
    assert steps_of(stuck["plan"]) == ["running", "running", "pending"]
    assert failed["safe"].payouts.count() == 2


def test_finance_ops_resumes_and_rolls_back(
    finance_ops: Any, on_commit: Any, stuck: dict[str, Any]
) -> None:
    with on_commit():
        resp = resume(finance_ops, stuck["plan"])
    assert resp.status_code == 200, resp.json()
    assert resp.json()["log"]["actor_role"] == "finance_ops"
    a = TreasuryAccountFactory(balance=Decimal("5"))
    b = TreasuryAccountFactory(balance=Decimal("0"))
    plan = make_plan(
        transfer(a, b, "5.00"), transfer(a, b, "5.00"), status=PlanStatus.EXECUTING
    )
    assert steps.run_plan(plan.id) == steps.FAILED
    resp = rollback(finance_ops, plan)
    assert resp.status_code == 200, resp.json()
    assert account_balances(a, b) == [Decimal("5.00"), Decimal("0.00")]


# --- resume-plan ---------------------------------------------------------------------


def test_a_stuck_plan_is_resumed_exactly_once(
    pay_admin: Any, on_commit: Any, stuck: dict[str, Any]
) -> None:
    plan = stuck["plan"]
    with on_commit():
        resp = resume(pay_admin, plan, key="resume-1")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["ok"] is True
    assert body["plan"]["id"] == str(plan.id)
    row = OpsActionLog.objects.get(action_type="resume_plan", status="executed")
    assert (row.actor_id, row.actor_role) == ("alice", "pay_admin")
    decisions = {s["index"]: s["decision"] for s in row.details["steps"]}
    assert decisions == {0: "mark_done", 1: "reset", 2: "requeue"}
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED  # the queued task ran the rest
    assert account_balances(stuck["a"], stuck["b"]) == [
        Decimal("940.00"),
        Decimal("60.00"),
    ]
    for index in range(3):
        assert len(executed_rows(plan, index)) == 1
    # the steps it settled are the system's rows, under the caller's action
    finished = OpsActionLog.objects.filter(
        action_type="finish_plan_step", actor_id="alice"
    )
    assert finished.count() == 2

    # the same request again: replayed, nothing runs again
    again = resume(pay_admin, plan, key="resume-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    # a new request: the plan is no longer executing
    assert_error(resume(pay_admin, plan), 409, "plan_not_executing", "status")
    for index in range(3):
        assert len(executed_rows(plan, index)) == 1


def test_resume_refuses_unknown_plans_and_other_statuses(pay_admin: Any) -> None:
    assert_error(
        post_action(pay_admin, "resume-plan", {"plan_id": str(uuid.uuid4())}),
        404,
        "plan_not_found",
        "plan_id",
    )
    assert_error(
        post_action(pay_admin, "resume-plan", {"plan_id": "42"}),
        400,
        "validation_error",
        "plan_id",
    )
    for status in (PlanStatus.PENDING, PlanStatus.FAILED, PlanStatus.EXECUTED):
        plan = make_plan(status=status)
        error = assert_error(resume(pay_admin, plan), 409, "plan_not_executing")
        assert error["fields"] == {"status": [status]}
    assert_error(
        post_action(pay_admin, "resume-plan", {"plan_id": str(uuid.uuid4())}, key=None),
        400,
        "idempotency_key_required",
    )


# --- rollback-plan -------------------------------------------------------------------


def test_a_failed_plan_is_rolled_back_with_audit_rows(
    pay_admin: Any, failed: dict[str, Any]
) -> None:
    f = failed
    plan = f["plan"]
    before = OpsActionLog.objects.order_by("-seq").values_list("seq", flat=True)[0]
    resp = rollback(pay_admin, plan, key="rb-1")
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["plan"]["details"]["rollback"]["complete"] is True
    assert not TreasuryControl.objects.get(key=pause_bank_key(f["risky"].id)).enabled
    assert {p.id for p in f["risky"].payouts.all()} == {p.id for p in f["p"]}
    assert account_balances(f["a"], f["b"]) == [Decimal("100.00"), Decimal("0.00")]

    action = OpsActionLog.objects.get(action_type="rollback_plan")
    assert (action.actor_id, action.actor_role, action.status) == (
        "alice",
        "pay_admin",
        "executed",
    )
    assert action.details["complete"] is True
    total = sum((p.amount for p in f["p"]), Decimal("0"))
    xof = next(x for x in action.details["lines"] if x["currency"] == "XOF")
    assert (xof["bank"], xof["payouts"], xof["amount"], xof["transferred"]) == (
        f["risky"].name,
        2,
        f"{total:.2f}",
        "60.00",
    )
    inverse = {
        r.action_type: (r.actor_id, r.actor_role)
        for r in OpsActionLog.objects.filter(status="executed", seq__gt=before)
        if r.action_type != "rollback_plan"
    }
    assert inverse == {
        "resume_bank": ("alice", "pay_admin"),  # people resume banks
        "reroute_payouts": ("plan-recovery", "system"),
        "transfer_funds": ("plan-recovery", "system"),
    }

    again = rollback(pay_admin, plan, key="rb-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == body
    assert_error(rollback(pay_admin, plan), 409, "plan_already_rolled_back")
    assert account_balances(f["a"], f["b"]) == [Decimal("100.00"), Decimal("0.00")]
    assert f["risky"].payouts.count() == 2


def test_rollback_refuses_unknown_plans_and_other_statuses(pay_admin: Any) -> None:
    assert_error(
        post_action(
            pay_admin, "rollback-plan", {"plan_id": str(uuid.uuid4()), "reason": "x"}
        ),
        404,
        "plan_not_found",
    )
    plan = make_plan(status=PlanStatus.EXECUTING)
    assert_error(
        post_action(pay_admin, "rollback-plan", {"plan_id": str(plan.id)}),
        400,
        "validation_error",
        "reason",
    )
    for status in (PlanStatus.PENDING, PlanStatus.EXECUTING, PlanStatus.CANCELLED):
        plan = make_plan(status=status)
        error = assert_error(rollback(pay_admin, plan), 409, "plan_not_rollbackable")
        assert error["fields"] == {"status": [status]}
    rows = audit_rows("rollback_plan")
    assert [r.status for r in rows] == ["rejected"] * 5


def test_rollback_above_the_threshold_waits_for_two_other_people(
    pay_admin: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    a = TreasuryAccountFactory(currency="USD", balance=Decimal("25000.00"))
    b = TreasuryAccountFactory(currency="USD", balance=Decimal("0.00"))
    plan = make_plan(
        transfer(a, b, "20000.00"),
        transfer(a, b, "20000.00"),  # 5,000 left: fails
        status=PlanStatus.EXECUTING,
    )
    assert steps.run_plan(plan.id) == steps.FAILED

    resp = rollback(pay_admin, plan, reason="wrong accounts")
    assert resp.status_code == 202, resp.json()
    approval = resp.json()["approval"]
    assert approval["required_approvals"] == 2
    assert f"roll back plan {plan.id}: 1 steps, 0 payouts back" in approval["summary"]
    assert "20,000.00 USD" in approval["summary"]
    assert "wrong accounts" in approval["summary"]
    assert account_balances(a, b) == [Decimal("5000.00"), Decimal("20000.00")]
    assert audit_rows("rollback_plan")[-1].status == "requested"
    # one pending request per plan
    assert_error(rollback(pay_admin, plan), 409, "approval_pending")
    # the initiator cannot sign; two other people can
    assert sign(pay_admin, approval["id"]).status_code == 403
    assert (
        sign(client_for("finance_ops", sub="bruno"), approval["id"]).status_code == 200
    )
    assert account_balances(a, b) == [Decimal("5000.00"), Decimal("20000.00")]
    last = sign(client_for("pay_admin", sub="amadou"), approval["id"])
    assert last.status_code == 200, last.json()

    assert account_balances(a, b) == [Decimal("25000.00"), Decimal("0.00")]
    assert ApprovalRequest.objects.get(pk=approval["id"]).status == "executed"
    rows = audit_rows("rollback_plan")
    assert [(r.status, r.actor_id) for r in rows] == [
        ("requested", "alice"),
        ("rejected", "alice"),  # the second request while the first waits
        ("executed", "alice"),
    ]
    assert rows[0].action_id == rows[-1].action_id
    back = OpsActionLog.objects.get(
        action_type="transfer_funds", status="executed", actor_id="plan-recovery"
    )
    assert (back.details["amount"], back.target["to_account_id"]) == (
        "20000.00",
        str(a.id),
    )
    plan.refresh_from_db()
    assert plan.details["rollback"]["complete"] is True


# --- the plan admin's buttons --------------------------------------------------


PLANS = "/admin/plans/plan/"


def test_roll_back_button_on_the_plan_page(failed: dict[str, Any]) -> None:
    f = failed
    client = browser(staff_user("ada", "pay_admin"))
    page = client.get(f"{PLANS}{f['plan'].pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Roll back…" in html and "Resume…" not in html
    url = f"{PLANS}{f['plan'].pk}/rollback/"
    confirm = client.get(url)
    assert confirm.status_code == 200
    done = client.post(
        url, {"csrfmiddlewaretoken": csrf_of(confirm), "reason": "x"}, follow=True
    )
    assert [level for level, _text in messages_of(done)] == ["success"]
    assert account_balances(f["a"], f["b"]) == [Decimal("100.00"), Decimal("0.00")]
    row = OpsActionLog.objects.get(action_type="rollback_plan")
    assert (row.actor_id, row.status) == ("ada", "executed")


def test_resume_from_the_plan_list_and_refused_roles(
    stuck: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    plan = stuck["plan"]
    ops_client = browser(staff_user("olu", "ops"))
    page = choose_action(ops_client, PLANS, "resume_plan_selected", [plan.pk])
    form = confirm_form(page, "resume_plan_selected", [plan.pk], reason="")
    done = ops_client.post(PLANS, form, follow=True)
    assert any(FORBIDDEN in text for _level, text in messages_of(done))
    assert steps_of(plan) == ["running", "running", "pending"]

    client = browser(staff_user("fola", "finance_ops"))
    page = choose_action(client, PLANS, "resume_plan_selected", [plan.pk])
    form = confirm_form(page, "resume_plan_selected", [plan.pk], reason="stuck")
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(PLANS, form, follow=True)
    assert [level for level, _text in messages_of(done)] == ["success"]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.EXECUTED
    row = OpsActionLog.objects.get(action_type="resume_plan", status="executed")
    assert (row.actor_id, row.details["reason"]) == ("fola", "stuck")


# --- the commands' summaries -------------------------------------------------------


def test_rollback_command_sums_up_per_bank_and_currency() -> None:
    gtbank = BankProfileFactory(name="GTBank Ghana", currencies=["GHS", "XOF"])
    equity = BankProfileFactory(name="Equity Bank", currencies=["GHS", "XOF"])
    spare = BankProfileFactory(name="Spare", currencies=["GHS", "XOF"])
    ghs = PayoutFactory.create_batch(
        12, bank_profile=gtbank, currency="GHS", amount=Decimal("283.34")
    )
    xof = PayoutFactory.create_batch(3, bank_profile=equity, amount=Decimal("1500"))
    a = TreasuryAccountFactory(bank_profile=spare, currency="GHS", balance=1)
    b = TreasuryAccountFactory(currency="GHS", balance=0)
    plan = make_plan(
        reroute(gtbank, spare, 12, currency="GHS"),
        reroute(equity, spare, 3),
        transfer(a, b, "5.00"),  # 1.00 left: fails
        status=PlanStatus.EXECUTING,
    )
    assert steps.run_plan(plan.id) == steps.FAILED

    out = StringIO()
    call_command("rollback_failed_plan", str(plan.id), stdout=out)
    assert out.getvalue().splitlines() == [
        "Equity Bank XOF: 3 payouts back, 4,500.00 XOF",
        "GTBank Ghana GHS: 12 payouts back, 3,400.08 GHS",
        "2 steps to undo; dry run: nothing changed (add --for-real)",
    ]

    out = StringIO()
    call_command(
        "rollback_failed_plan", str(plan.id), "--for-real", "--verbose", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == "Equity Bank XOF: 3 payouts back, 4,500.00 XOF"
    assert lines[1:4] == sorted(lines[1:4])
    assert {line.split()[-1] for line in lines[1:4]} == {str(p.id) for p in xof}
    assert lines[4] == "GTBank Ghana GHS: 12 payouts back, 3,400.08 GHS"
    assert {line.split()[-1] for line in lines[5:17]} == {str(p.id) for p in ghs}
    assert all(line.startswith("    payout ") for line in lines[5:17])
    assert lines[17:] == [f"plan {plan.id} rolled back"]
    assert gtbank.payouts.count() == 12 and equity.payouts.count() == 3


def test_resume_command_sums_up_and_lists_steps_when_verbose(
    stuck: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    plan, b = stuck["plan"], stuck["b"]
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "execute_stuck_plan",
            str(plan.id),
            "--for-real",
            "--verbose",
            "--operator",
            "amadou",
            stdout=out,
        )
    lines = out.getvalue().splitlines()
    assert lines[0] == "3 unfinished steps (1 mark_done, 1 requeue, 1 reset)"
    assert (
        lines[1] == f"{b.bank_profile.name} XOF: 2 steps to run, 50.00 XOF to transfer"
    )
    assert [json.loads(x.split("step ", 1)[1])["index"] for x in lines[2:5]] == [
        0,
        1,
        2,
    ]
    assert lines[5].startswith(f"plan {plan.id} queued again")
    row = OpsActionLog.objects.get(action_type="resume_plan")
    assert (row.actor_id, row.actor_role) == ("amadou", "pay_admin")


def test_rollback_command_above_the_threshold_asks_for_signatures(
    client_for: Any,
) -> None:
    a = TreasuryAccountFactory(currency="USD", balance=Decimal("150000.00"))
    b = TreasuryAccountFactory(currency="USD", balance=Decimal("0.00"))
    plan = make_plan(
        transfer(a, b, "120000.00"),
        transfer(a, b, "40000.00"),  # 30,000 left: fails
        status=PlanStatus.EXECUTING,
    )
    assert steps.run_plan(plan.id) == steps.FAILED
    out = StringIO()
    call_command("rollback_failed_plan", str(plan.id), "--for-real", stdout=out)
    approval = ApprovalRequest.objects.get(action_type="rollback_plan")
    assert out.getvalue().splitlines() == [
        f"waiting for 3 signatures on approval {approval.id}"
    ]
    assert approval.initiator_id == "runbook:rollback_failed_plan"
    assert account_balances(a, b) == [Decimal("30000.00"), Decimal("120000.00")]
    for signer, role in (("bruno", "finance_ops"), ("amadou", "pay_admin")):
        assert sign(client_for(role, sub=signer), str(approval.id)).status_code == 200
    assert account_balances(a, b) == [Decimal("30000.00"), Decimal("120000.00")]
    last = sign(client_for("finance_ops", sub="fatou"), str(approval.id))
    assert last.status_code == 200, last.json()
    assert account_balances(a, b) == [Decimal("150000.00"), Decimal("0.00")]
