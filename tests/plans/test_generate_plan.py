"""generate-plan (DESIGN §8): 202 with the plan ``generating``; the worker
builds the snapshot, plans (SIRA unset here: the local planner), records the
outcome through ``record_plan`` and opens the plan's approval when a rule
applies. Each path: effect, audit rows, refusal, replay, bad input."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from plans import crypto
from plans.models import Plan, PlanStep
from plans.planner.planning import PLANNER_VERSION
from plans.services import generation, plan_records
from tests.factories import BankProfileFactory, PayoutFactory
from tests.helpers import audit_rows, post_action
from tests.plans.plan_helpers import ROUTING, generate, rails


@pytest.fixture(autouse=True)
def _local_planner(settings: Any) -> None:
    settings.SIRA_URL = ""


# --- the happy path -------------------------------------------------------------------


def test_answers_202_generating_and_the_worker_makes_it_pending(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dear, cheap = rails()
    resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)

    assert resp.status_code == 202, resp.json()
    body = resp.json()
    assert body["ok"] is True
    assert body["plan"]["status"] == "generating"
    assert body["plan"]["plan_type"] == "routing_optimization"
    assert body["log"]["status"] == "executed"
    assert body["log"]["action_type"] == "generate_plan"
    assert plan is not None

    assert plan.status == "pending"
    assert plan.source == "heuristic"
    assert plan.planner_version == PLANNER_VERSION
    assert re.fullmatch(r"[0-9a-f]{64}", plan.input_hash)
    assert plan.fallback_reason == ""
    assert plan.params == {
        "type": "routing_optimization",
        "timeframe_hours": 24,
        "constraints": {},
    }
    assert plan.created_by == "alice"
    (step,) = plan.steps
    assert step["action"] == "reroute_payouts"
    assert (step["from_bank_id"], step["to_bank_id"]) == (str(dear.id), str(cheap.id))
    assert step["count"] == 4
    assert plan.payout_count == 4
    assert plan.total_amount > 0
    assert set(plan.details["timings"]) >= {"snapshot_ms", "planner_ms", "total_ms"}
    assert plan.details["progress"] == {"done": 0, "total": 1}
    assert plan.details["outcome"] == "ok"
    assert plan.approval_required is False and plan.approval_id is None
    assert list(PlanStep.objects.filter(plan=plan).values_list("index", "action")) == [
        (0, "reroute_payouts")
    ]

    (generated,) = audit_rows("generate_plan")
    assert (generated.actor_id, generated.actor_role) == ("alice", "pay_admin")
    assert generated.target == {
        "plan_id": str(plan.id),
        "plan_type": "routing_optimization",
    }
    (recorded,) = audit_rows("record_plan")
    assert (recorded.actor_id, recorded.actor_role) == ("plans.generation", "system")
    assert recorded.status == "executed"
    assert recorded.details["source"] == "heuristic"
    assert recorded.details["input_hash"] == plan.input_hash
    assert recorded.details["steps"] == 1


def test_ops_may_generate_too(
    db: None, ops: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    resp, plan = generate(ops, django_capture_on_commit_callbacks)
    assert resp.status_code == 202
    assert plan is not None and plan.status == "pending"
    assert audit_rows("generate_plan")[0].actor_role == "ops"


def test_the_plan_data_is_encrypted_and_holds_snapshot_and_answer(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dear, _cheap = rails()
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT plan_data FROM sira_plans WHERE id = %s",
            [plan.id.hex if connection.vendor == "sqlite" else plan.id],
        )
        (raw,) = cur.fetchone()
    assert raw and str(dear.id) not in raw and "Banque" not in raw
    data = crypto.decrypt_json(raw)
    assert data["snapshot"]["banks"][0]["id"] in {str(dear.id), str(_cheap.id)}
    assert data["answer"]["steps"] == plan.steps
    assert generation.snapshot_hash(data["snapshot"]) == plan.input_hash


def test_nothing_to_improve_is_an_empty_pending_plan(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    bank = BankProfileFactory(currencies=["XOF"])
    PayoutFactory(bank_profile=bank)  # already at the only (cheapest) bank
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    assert plan.status == "pending", plan.details
    assert plan.steps == [] and plan.details["outcome"] == "nothing_to_improve"
    assert plan.summary
    assert not PlanStep.objects.exists()


def test_infeasible_constraints_fail_the_plan_with_a_code(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    body = {
        "plan_params": {
            "type": "routing_optimization",
            "constraints": {"max_cost": "0.01"},
        }
    }
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks, body)
    assert plan is not None
    assert plan.status == "failed"
    assert plan.steps == []
    error = plan.details["error"]
    assert error["code"] == "infeasible_constraints"
    assert error["message"] and error["reason"]
    (recorded,) = audit_rows("record_plan")
    assert recorded.status == "executed"
    assert recorded.details["error"]["code"] == "infeasible_constraints"
    assert not PlanStep.objects.exists()


def test_a_snapshot_the_planner_cannot_use_fails_the_plan(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # a currency with no USD rate: the planner refuses the snapshot
    rails(currency="ZZZ")
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    assert plan.status == "failed"
    assert plan.details["error"]["code"] == "planner_error"
    assert plan.details["error"]["reason"] == "PlanInputError"


def test_timeframe_forms(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for given, hours in (("24h", 24), ("7d", 168), (12, 12), ("30d", 720)):
        body = {"plan_params": {"type": "float_rebalance", "timeframe": given}}
        resp, plan = generate(pay_admin, django_capture_on_commit_callbacks, body)
        assert resp.status_code == 202, resp.json()
        assert plan is not None and plan.params["timeframe_hours"] == hours


# --- refusals, replay, bad input ------------------------------------------------------


def test_finance_ops_may_not_generate(db: None, finance_ops: Any) -> None:
    resp = post_action(finance_ops, "generate-plan", ROUTING)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    (row,) = audit_rows("generate_plan")
    assert (row.status, row.actor_role) == ("rejected", "finance_ops")
    assert not Plan.objects.exists()


def test_replay_returns_the_first_answer_and_makes_one_plan(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    first, _ = generate(pay_admin, django_capture_on_commit_callbacks, key="gen-1")
    again, _ = generate(pay_admin, django_capture_on_commit_callbacks, key="gen-1")
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Plan.objects.count() == 1
    other = post_action(
        pay_admin,
        "generate-plan",
        {"plan_params": {"type": "risk_mitigation"}},
        key="gen-1",
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"type": "world_domination"}, ["type"]),
        ({}, ["type"]),
        ({"type": "routing_optimization", "timeframe": 0}, ["timeframe"]),
        ({"type": "routing_optimization", "timeframe": -5}, ["timeframe"]),
        ({"type": "routing_optimization", "timeframe": "31d"}, ["timeframe"]),
        ({"type": "routing_optimization", "timeframe": 721}, ["timeframe"]),
        ({"type": "routing_optimization", "timeframe": "soon"}, ["timeframe"]),
        ({"type": "routing_optimization", "timeframe": True}, ["timeframe"]),
        (
            {"type": "routing_optimization", "constraints": {"min_success_rate": 1.5}},
            ["constraints", "min_success_rate"],
        ),
        (
            {"type": "routing_optimization", "constraints": {"min_success_rate": -0.1}},
            ["constraints", "min_success_rate"],
        ),
        (
            {"type": "routing_optimization", "constraints": {"max_cost": -1}},
            ["constraints", "max_cost"],
        ),
        (
            {"type": "routing_optimization", "constraints": {"max_cost": "1e30"}},
            ["constraints", "max_cost"],
        ),
        (
            {"type": "routing_optimization", "constraints": {"max_cost": "NaN"}},
            ["constraints", "max_cost"],
        ),
        (
            {"type": "routing_optimization", "constraints": {"max_costs": 5}},
            ["constraints", "max_costs"],
        ),
        (
            {"type": "routing_optimization", "constraints": [1]},
            ["constraints"],
        ),
    ],
)
def test_bad_input_is_a_400_with_fields_and_no_plan(
    db: None, pay_admin: Any, params: dict[str, Any], where: list[str]
) -> None:
    resp = post_action(pay_admin, "generate-plan", {"plan_params": params})
    assert resp.status_code == 400, resp.json()
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    node: Any = error["fields"]["plan_params"]
    for name in where:
        node = node[name]
    assert node
    assert not Plan.objects.exists()
    (row,) = audit_rows("generate_plan")
    assert row.status == "rejected"


def test_missing_plan_params_and_missing_key(db: None, pay_admin: Any) -> None:
    resp = post_action(pay_admin, "generate-plan", {"type": "routing_optimization"})
    assert resp.status_code == 400
    assert "plan_params" in resp.json()["error"]["fields"]
    resp = post_action(pay_admin, "generate-plan", ROUTING, key=None)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "idempotency_key_required"
    assert not Plan.objects.exists()


# --- the worker is safe to run twice --------------------------------------------------


def test_the_task_is_safe_to_run_twice(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rails()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        resp = post_action(pay_admin, "generate-plan", ROUTING)
    assert queued  # the task waits for the commit
    plan_id = resp.json()["plan"]["id"]
    assert Plan.objects.get(pk=plan_id).status == "generating"

    assert generation.build(plan_id) == "recorded"
    assert generation.build(plan_id) == "skipped"
    plan = Plan.objects.get(pk=plan_id)
    assert PlanStep.objects.filter(plan=plan).count() == len(plan.steps) == 1
    assert len(audit_rows("record_plan")) == 1

    # a second recording racing the first loses cleanly: 409, nothing added
    record = {
        "source": "heuristic",
        "planner_version": "x",
        "input_hash": "0" * 64,
        "fallback_reason": "",
        "timings": {},
        "plan_data": "",
        "outcome": {
            "status": "ok",
            "summary": "again",
            "steps": plan.steps,
            "total_amount": "1.00",
            "payout_count": 1,
        },
    }
    with pytest.raises(OpsError) as caught:
        runner.run(
            "record_plan",
            system_principal("test"),
            {"plan_id": plan_id, "record": record},
        )
    assert caught.value.code == "plan_not_generating"
    assert PlanStep.objects.filter(plan=plan).count() == 1
    assert Plan.objects.get(pk=plan_id).summary == plan.summary
    assert [r.status for r in audit_rows("record_plan")] == ["executed", "rejected"]


def test_an_unknown_plan_id_is_skipped(db: None) -> None:
    assert generation.build("00000000-0000-0000-0000-000000000000") == "skipped"


def test_stuck_plans_are_queued_again(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import time_machine
    from django.utils import timezone

    rails()
    with django_capture_on_commit_callbacks(execute=False):
        resp = post_action(pay_admin, "generate-plan", ROUTING)
    plan_id = resp.json()["plan"]["id"]
    assert generation.requeue_stuck() == 0  # too recent
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10)):
        assert generation.requeue_stuck() == 1  # eager: it runs now
    assert Plan.objects.get(pk=plan_id).status == "pending"


# --- approval (DESIGN §7) -------------------------------------------------------------


def big_rails() -> None:
    # 6 x 5,000 USD to move: 30,000 USD > 10,000 USD → 2 signatures
    rails(count=6, amount="5000.00", currency="USD")


def test_a_plan_over_a_threshold_opens_its_approval(
    db: None, pay_admin: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    big_rails()
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    assert plan.status == "pending"
    assert plan.total_amount == Decimal("30000.00")
    assert plan.approval_required is True and plan.approval_id is not None
    (recorded,) = audit_rows("record_plan")
    assert recorded.details["required_approvals"] == 2
    assert recorded.details["approval_id"] == str(plan.approval_id)

    detail = pay_admin.get(f"/api/ops/plans/{plan.id}").json()["plan"]
    approval = detail["approval"]
    assert approval["id"] == str(plan.approval_id)
    assert approval["action_type"] == "execute_plan"
    assert approval["initiator_id"] == "alice"
    assert (approval["required_approvals"], approval["status"]) == (2, "pending")

    for signer in (
        client_for("finance_ops", sub="bruno"),
        client_for("pay_admin", sub="dora"),
    ):
        resp = post_action(
            signer, f"approve/{plan.approval_id}", {"decision": "approve"}
        )
        assert resp.status_code == 200, resp.json()
    plan.refresh_from_db()
    assert plan.status == "approved"
    approval = pay_admin.get(f"/api/ops/plans/{plan.id}").json()["plan"]["approval"]
    assert approval["status"] == "approved"
    assert approval["approval_token"]  # the initiator sees it


def test_a_declined_approval_rejects_the_plan(
    db: None, pay_admin: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    big_rails()
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None and plan.approval_id
    signer = client_for("finance_ops", sub="bruno")
    resp = post_action(signer, f"approve/{plan.approval_id}", {"decision": "decline"})
    assert resp.status_code == 200, resp.json()
    plan.refresh_from_db()
    assert plan.status == "rejected"


def test_an_expired_approval_rejects_the_plan(
    db: None, pay_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    import time_machine
    from django.utils import timezone

    big_rails()
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None and plan.approval_id
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=25)):
        runner.run("expire_approvals", system_principal("beat"), {})
    plan.refresh_from_db()
    assert plan.status == "rejected"


def test_many_payouts_need_signatures_too(
    db: None, pay_admin: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.APPROVAL_PLAN_PAYOUTS_THRESHOLD = 3
    rails(count=4)  # 4 payouts of a few USD each: only the count rule applies
    _resp, plan = generate(pay_admin, django_capture_on_commit_callbacks)
    assert plan is not None
    assert plan.total_amount < 100
    assert plan.approval_required is True
    assert audit_rows("record_plan")[0].details["required_approvals"] == 2


def test_sira_asking_for_approval_is_honoured() -> None:
    assert plan_records.signatures_for_plan(Decimal(5), 1, asked=False) == 0
    assert plan_records.signatures_for_plan(Decimal(5), 1, asked=True) == 2
    assert plan_records.signatures_for_plan(Decimal(200_000), 1, asked=True) == 3
