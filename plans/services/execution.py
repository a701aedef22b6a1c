"""execute_plan / cancel_plan (DESIGN §8); recovery (resume, roll back) is in
``plans.services.recovery``. The steps themselves run on the workers:
``plans.execution`` explains how each runs at most once.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.ports import ports
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.lib.fields import iso_utc
from plans.choices import STEP_ACTIONS, PlanStatus, StepStatus
from plans.execution import progress
from plans.execution.inputs import CancelPlanInput, ExecutePlanInput
from plans.execution_tasks import queue_plan
from plans.models import Plan, PlanStep
from plans.serializers import PlanSerializer, approvals_of

EXECUTABLE = (PlanStatus.PENDING, PlanStatus.APPROVED)
CANCELLABLE = (PlanStatus.PENDING, PlanStatus.APPROVED, PlanStatus.EXECUTING)


def plan_or_404(plan_id: uuid.UUID) -> Plan:
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise OpsError(
            "plan_not_found",
            _("No plan with this id."),
            status=404,
            fields={"plan_id": [_("Unknown plan.")]},
        )
    return plan


def plan_json(plan: Plan, ctx: ActionContext) -> dict[str, Any]:
    approvals = approvals_of([plan], viewer_id=ctx.actor_id)
    return PlanSerializer(plan, context={"approvals": approvals}).data


def _not_executable(plan: Plan) -> OpsError:
    return OpsError(
        "plan_not_executable",
        _("Only a pending or approved plan can be executed (this one is %(status)s).")
        % {"status": plan.status},
        status=409,
        fields={"status": [plan.status]},
    )


# --- execute_plan -----------------------------------------------------------------


def _consume_approval(plan: Plan, token: str) -> str | None:
    """The plan's approval token, used up (single use), or a refusal."""
    if not plan.approval_required:
        return None
    if not token:
        raise OpsError(
            "approval_required",
            _("This plan needs its approval's token to be executed."),
            status=409,
            fields={"approval_token": [_("Required for this plan.")]},
        )
    if ports.approvals is None:
        raise RuntimeError("plan needs signatures but no approvals app")
    return ports.approvals.consume_token(
        action_type="execute_plan", payload={"plan_id": str(plan.id)}, token=token
    )


def _step_rows(plan: Plan) -> list[PlanStep]:
    """The plan's step rows (made from ``plan.steps`` if its generator did
    not); every step must name an action the executor runs."""
    rows = list(plan.step_rows.order_by("index"))
    if not rows and plan.steps:
        rows = PlanStep.objects.bulk_create(
            PlanStep(
                plan=plan,
                index=i,
                action=str(step.get("action", "")),
                fields={k: v for k, v in step.items() if k != "action"},
            )
            for i, step in enumerate(plan.steps)
        )
    unknown = sorted({row.action for row in rows} - set(STEP_ACTIONS))
    if unknown:
        raise OpsError(
            "plan_step_invalid",
            _("The plan names actions no step may run: %(actions)s.")
            % {"actions": ", ".join(unknown)},
            status=422,
            fields={"steps": unknown},
        )
    return rows


@ops_action(
    "execute_plan",
    roles={"pay_admin", "finance_ops"},
    input=ExecutePlanInput,
    resource="plan",
)
def execute_plan(
    ctx: ActionContext, *, plan_id: uuid.UUID, approval_token: str = ""
) -> Outcome:
    """Execute a pending or approved plan: workers run its steps (202)."""
    plan = plan_or_404(plan_id)
    if plan.status not in (*EXECUTABLE, PlanStatus.EXECUTING):
        raise _not_executable(plan)
    approval_id = _consume_approval(plan, approval_token)
    now = timezone.now()
    # pending|approved → executing by the one call that finds it so; a second
    # execute-plan (or a concurrent one) gets the 409 and its token back
    if not Plan.objects.filter(pk=plan.pk, status__in=EXECUTABLE).update(
        status=PlanStatus.EXECUTING, updated_at=now
    ):
        plan.refresh_from_db()
        raise _not_executable(plan)
    rows = _step_rows(plan)
    execution = {
        "action_id": str(ctx.action_id),
        "by": ctx.actor_id,
        "approval_id": approval_id,
        "started_at": iso_utc(now),
    }
    plan = progress.refresh_details(plan.id, execution=execution)
    ctx.emit(
        "plans.plan.executing",
        {"plan_id": str(plan.id), "plan_type": plan.plan_type, "steps": len(rows)},
    )
    # robust: the action has committed; with the broker down the answer
    # stands and beat takes the idle plan up (plans/execution/takeup.py)
    transaction.on_commit(lambda: queue_plan(plan.id), robust=True)
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": plan_json(plan, ctx)},
        details={
            "steps": len(rows),
            "approval_id": approval_id,
            "total_amount": f"{plan.total_amount:.2f}",
            "payout_count": plan.payout_count,
        },
        status=202,
    )


# --- cancel_plan -------------------------------------------------------------------


@ops_action(
    "cancel_plan",
    roles={"pay_admin", "finance_ops"},
    input=CancelPlanInput,
    resource="plan",
)
def cancel_plan(ctx: ActionContext, *, plan_id: uuid.UUID, reason: str) -> Outcome:
    """Cancel a plan: its remaining steps never run (a running one finishes)."""
    plan = plan_or_404(plan_id)
    previous = plan.status
    now = timezone.now()
    if previous not in CANCELLABLE or not Plan.objects.filter(
        pk=plan.pk, status__in=CANCELLABLE
    ).update(status=PlanStatus.CANCELLED, updated_at=now):
        plan.refresh_from_db()
        raise OpsError(
            "plan_not_cancellable",
            _(
                "Only a pending, approved or executing plan can be cancelled "
                "(this one is %(status)s)."
            )
            % {"status": plan.status},
            status=409,
            fields={"status": [plan.status]},
        )
    waiting = PlanStep.objects.filter(
        plan=plan, status__in=(StepStatus.PENDING, StepStatus.BLOCKED)
    )
    stopped = list(waiting.values_list("index", flat=True))
    # conditional: a step the executor claimed meanwhile is running, and finishes
    waiting.update(status=StepStatus.CANCELLED, error=f"cancelled: {reason}")
    running = list(
        PlanStep.objects.filter(plan=plan, status=StepStatus.RUNNING).values_list(
            "index", flat=True
        )
    )
    # its approval closes with it, in this transaction: nobody signs or uses
    # the token of a plan that will never run
    closed = (
        ports.approvals.close(
            action_type="execute_plan",
            payload={"plan_id": str(plan.id)},
            reason="plan_cancelled",
            meta=ctx.meta,
        )
        if ports.approvals is not None
        else []
    )
    cancelled = {"by": ctx.actor_id, "reason": reason, "at": iso_utc(now)}
    plan = progress.refresh_details(plan.id, cancelled=cancelled)
    for index in stopped:
        ctx.emit(
            "plans.plan_step.cancelled",
            {"plan_id": str(plan.id), "plan_type": plan.plan_type, "index": index},
        )
    ctx.emit(
        "plans.plan.cancelled",
        {"plan_id": str(plan.id), "plan_type": plan.plan_type, "reason": reason},
    )
    progress.count_terminal(plan, PlanStatus.CANCELLED)
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": plan_json(plan, ctx)},
        details={
            "reason": reason,
            "previous_status": previous,
            "approvals_closed": closed,
            "steps_cancelled": stopped,
            "steps_still_running": running,
        },
    )
