"""Helpers for the execute-plan tests (no tests here): plans made directly in
the database — a ``Plan`` and its ``PlanStep`` rows — so execution is tested
apart from generation."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from prometheus_client import REGISTRY

from audit.models import OpsActionLog
from molam_ops.actions import runner
from molam_ops.actions.context import ActionContext
from molam_ops.actions.ports import ports
from molam_ops.identity import Principal
from molam_ops.models import IdempotencyRecord, OutboxEvent
from plans.choices import PlanStatus
from plans.execution import leases, progress
from plans.execution import steps as plan_steps
from plans.execution.progress import step_key
from plans.models import Plan, PlanStep
from plans.services.plan_records import plan_approval_facts
from tests.helpers import post_action

ALICE = Principal(id="alice", roles=frozenset({"pay_admin"}))


def make_plan(
    *steps: tuple[str, dict[str, Any]],
    status: str = PlanStatus.PENDING,
    plan_type: str = "float_rebalance",
    approval_required: bool = False,
    total_amount: Decimal = Decimal("100.00"),
    payout_count: int = 0,
) -> Plan:
    now = timezone.now()
    plan = Plan.objects.create(
        plan_type=plan_type,
        status=status,
        source="heuristic",
        planner_version="test",
        summary="test plan",
        steps=[{"action": action, **fields} for action, fields in steps],
        total_amount=total_amount,
        payout_count=payout_count,
        approval_required=approval_required,
        details={"timings": {"total_ms": 1}},
        created_by="alice",
        created_at=now,
        updated_at=now,
    )
    PlanStep.objects.bulk_create(
        PlanStep(plan=plan, index=i, action=action, fields=fields)
        for i, (action, fields) in enumerate(steps)
    )
    return plan


def transfer(source: Any, destination: Any, amount: str) -> tuple[str, dict[str, Any]]:
    return (
        "transfer_funds",
        {
            "from_account_id": str(source.id),
            "to_account_id": str(destination.id),
            "amount": amount,
        },
    )


def reroute(
    source: Any, destination: Any, count: int, currency: str = "XOF"
) -> tuple[str, dict[str, Any]]:
    return (
        "reroute_payouts",
        {
            "from_bank_id": str(source.id),
            "to_bank_id": str(destination.id),
            "currency": currency,
            "count": count,
            "estimated_savings": "12.50",  # planners add fields; ignored
        },
    )


def pause(bank: Any) -> tuple[str, dict[str, Any]]:
    return ("pause_bank", {"bank_profile_id": str(bank.id), "reason": "risk"})


def execute(client: Any, plan: Plan, token: str | None = None, **kw: Any) -> Any:
    body: dict[str, Any] = {"plan_id": str(plan.id)}
    if token is not None:
        body["approval_token"] = token
    return post_action(client, "execute-plan", body, **kw)


def cancel(client: Any, plan: Plan, reason: str = "changed our mind") -> Any:
    return post_action(
        client, "cancel-plan", {"plan_id": str(plan.id), "reason": reason}
    )


def steps_of(plan: Plan) -> list[str]:
    return list(
        PlanStep.objects.filter(plan=plan)
        .order_by("index")
        .values_list("status", flat=True)
    )


def executed_rows(plan: Plan, index: int) -> list[OpsActionLog]:
    return list(
        OpsActionLog.objects.filter(
            idempotency_key=step_key(plan.id, index), status="executed"
        )
    )


def topics(prefix: str = "plans.") -> list[str]:
    return list(
        OutboxEvent.objects.filter(topic__startswith=prefix)
        .order_by("id")
        .values_list("topic", flat=True)
    )


def executions(plan_type: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "molam_ops_plan_executions_total",
        {"plan_type": plan_type, "status": status},
    )
    return value or 0.0


def open_plan_approval(plan: Plan, required: int = 2) -> dict[str, Any]:
    """The plan's approval request, opened as generation opens it (alice)."""
    assert ports.approvals is not None
    ctx = ActionContext(
        action_id=uuid.uuid4(),
        action_type="generate_plan",
        principal=ALICE,
        role="pay_admin",
    )
    approval = ports.approvals.open_request(
        ctx,
        action_type="execute_plan",
        payload={"plan_id": str(plan.id)},
        required=required,
        mode="token",
        facts=plan_approval_facts(plan, steps=plan.step_rows.count()),
    )
    Plan.objects.filter(pk=plan.pk).update(
        approval_required=True, approval_id=approval["id"]
    )
    plan.refresh_from_db()
    return approval


def run_as(principal: Principal, action: str, body: dict[str, Any]) -> Any:
    return runner.run(action, principal, body)


def balances(rails: dict[str, Any]) -> tuple[Decimal, Decimal]:
    rails["a"].refresh_from_db()
    rails["b"].refresh_from_db()
    return rails["a"].balance, rails["b"].balance


def account_balances(*accounts: Any) -> list[Decimal]:
    for account in accounts:
        account.refresh_from_db()
    return [account.balance for account in accounts]


def died_running(plan: Plan, index: int, *, minutes_ago: int = 10) -> PlanStep:
    """The row a worker leaves when it dies in the middle of step ``index``:
    its lease long run out (no worker renewed it)."""
    step = PlanStep.objects.get(plan=plan, index=index)
    progress.claim(step, recovering=False)
    started = timezone.now() - timedelta(minutes=minutes_ago)
    PlanStep.objects.filter(pk=step.pk).update(
        started_at=started, lease_expires_at=leases.expiry(started)
    )
    step.refresh_from_db()
    return step


def effect_committed(plan: Plan, index: int) -> None:
    """What the dead worker's effect did before it died: the step's action,
    through the runner under the step's key (committed, response stored)."""
    step = PlanStep.objects.get(plan=plan, index=index)
    runner.run(
        step.action,
        progress.EXECUTOR,
        plan_steps.step_payload(plan, step),
        idempotency_key=progress.step_key(plan.id, index),
    )


def reservation_left(plan: Plan, index: int) -> None:
    """A worker that died inside the effect's transaction: the key reserved,
    the effect rolled back with its connection."""
    step = PlanStep.objects.get(plan=plan, index=index)
    IdempotencyRecord.objects.create(
        scope=progress.EXECUTOR.id,
        key=progress.step_key(plan.id, index),
        request_hash="0" * 64,
        action_type=step.action,
        action_id=uuid.uuid4(),
        status=IdempotencyRecord.Status.IN_FLIGHT,
        created_at=timezone.now(),
    )
