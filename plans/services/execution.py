"""execute_plan / cancel_plan, and the runbook's execute_stuck_plan and
rollback_failed_plan (DESIGN §8). The steps themselves run on the workers:
``plans.execution`` explains how each runs at most once.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from molam_ops.actions import idempotency, runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.ports import ports
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE, Principal
from molam_ops.lib.fields import iso_utc
from plans.choices import STEP_ACTIONS, PlanStatus, StepStatus
from plans.execution import locks, progress, recovery, steps
from plans.execution.inputs import (
    CancelPlanInput,
    ExecutePlanInput,
    ExecuteStuckPlanInput,
    RecordPlanRollbackInput,
)
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


def _plan_json(plan: Plan, ctx: ActionContext) -> dict[str, Any]:
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
        resource={"plan": _plan_json(plan, ctx)},
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
        resource={"plan": _plan_json(plan, ctx)},
        details={
            "reason": reason,
            "previous_status": previous,
            "approvals_closed": closed,
            "steps_cancelled": stopped,
            "steps_still_running": running,
        },
    )


# --- execute_stuck_plan (runbook) ----------------------------------------------------


def _settle(ctx: ActionContext, plan: Plan, item: recovery.StuckStep) -> None:
    step = PlanStep.objects.get(plan=plan, index=item.index)
    if item.decision == recovery.MARK_DONE:
        outcome = steps.StepOutcome("done", body=item.response or {})
        progress.finish(
            step, StepStatus.DONE, result=steps.step_result(outcome), within=ctx
        )
    elif item.decision == recovery.RESET:
        # its effect did not commit: an open reservation would refuse the rerun
        idempotency.release(
            scope=progress.EXECUTOR.id, key=progress.step_key(plan.id, item.index)
        )
        progress.finish(
            step,
            StepStatus.PENDING,
            result={},
            error="reset by execute_stuck_plan: its effect had not committed",
            within=ctx,
        )


@ops_action(
    "execute_stuck_plan",
    roles={SYSTEM_ROLE},
    input=ExecuteStuckPlanInput,
    resource="plan",
    http=False,
)
def execute_stuck_plan(
    ctx: ActionContext, *, plan_id: uuid.UUID, orphaned_only: bool = False
) -> Outcome:
    """Recover an executing plan whose worker is gone, and queue it again
    (the runbook's command, and beat once a step's lease has run out)."""
    plan = plan_or_404(plan_id)
    if plan.status != PlanStatus.EXECUTING:
        raise OpsError(
            "plan_not_executing",
            _("Only an executing plan can be stuck (this one is %(status)s).")
            % {"status": plan.status},
            status=409,
            fields={"status": [plan.status]},
        )
    if not locks.plan_free_in_transaction(plan.id):
        raise OpsError(
            "plan_busy", _("A worker is running this plan right now."), status=409
        )
    review = recovery.review_stuck(plan, lock_free=True)
    if orphaned_only and not recovery.settles(review):
        raise OpsError(
            "plan_not_stuck",
            _("No step of this plan is left by a dead worker."),
            status=409,
            fields={"plan_id": [str(plan.id)]},
        )
    for item in review:
        _settle(ctx, plan, item)
    plan = progress.refresh_details(plan.id)
    # robust: the action has committed; with the broker down the answer
    # stands and beat takes the idle plan up (plans/execution/takeup.py)
    transaction.on_commit(lambda: queue_plan(plan.id), robust=True)
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": _plan_json(plan, ctx)},
        details={"steps": [item.as_dict() for item in review]},
    )


# --- rollback_failed_plan (runbook) ---------------------------------------------------


def _failed_plan(plan_id: uuid.UUID) -> Plan:
    plan = plan_or_404(plan_id)
    if plan.status != PlanStatus.FAILED:
        raise OpsError(
            "plan_not_failed",
            _("Only a failed plan can be rolled back (this one is %(status)s).")
            % {"status": plan.status},
            status=409,
            fields={"status": [plan.status]},
        )
    return plan


@ops_action(
    "record_plan_rollback",
    roles={SYSTEM_ROLE},
    input=RecordPlanRollbackInput,
    resource="plan",
    http=False,
)
def record_plan_rollback(
    ctx: ActionContext,
    *,
    plan_id: uuid.UUID,
    steps: list[dict[str, Any]],
    complete: bool,
) -> Outcome:
    """Record in a failed plan's details what its rollback undid."""
    plan = _failed_plan(plan_id)
    rollback = {
        "by": ctx.actor_id,
        "at": iso_utc(timezone.now()),
        "complete": complete,
        "steps": steps,
    }
    plan = progress.refresh_details(plan.id, rollback=rollback)
    ctx.emit(
        "plans.plan.rolled_back" if complete else "plans.plan.rollback_incomplete",
        {"plan_id": str(plan.id), "plan_type": plan.plan_type, "steps": len(steps)},
    )
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": _plan_json(plan, ctx)},
        details=rollback,
    )


def _undo(
    plan: Plan,
    inverse: recovery.Inverse,
    *,
    principal: Principal,
    operator: Principal | None,
) -> dict[str, Any]:
    entry: dict[str, Any] = inverse.as_dict()
    # resume_bank stays with people (DESIGN §4, controls.services.banks)
    who = operator if inverse.action == "resume_bank" else principal
    if who is None:
        return {**entry, "status": "skipped", "code": "operator_required"}
    key = recovery.rollback_key(plan.id, inverse)
    # a refusal committed nothing: a rerun of the runbook tries again
    idempotency.forget_refusal(scope=who.id, key=key)
    try:
        result = runner.run(inverse.action, who, inverse.fields, idempotency_key=key)
    except OpsError as exc:
        if (inverse.action, exc.code) == ("resume_bank", "bank_not_paused"):
            return {**entry, "status": "noop", "code": exc.code}
        return {**entry, "status": "failed", "code": exc.code, "message": str(exc)}
    if result.status != 200:
        return {**entry, "status": "failed", "code": f"http_{result.status}"}
    row = result.body.get("log") or {}
    return {**entry, "status": "done", "log_id": row.get("id")}


def rollback_failed_plan(
    plan_id: uuid.UUID, *, principal: Principal, operator: Principal | None = None
) -> dict[str, Any]:
    """Run the inverse of each done step of a failed plan (recovery.inverse_steps),
    each through the runner and audited, stopping at the first that cannot
    run; then record the result in the plan. Rerunning it replays what was
    undone and goes on from there."""
    plan = _failed_plan(plan_id)
    done: list[dict[str, Any]] = []
    for inverse in recovery.inverse_steps(plan):
        entry = _undo(plan, inverse, principal=principal, operator=operator)
        done.append(entry)
        if entry["status"] not in ("done", "noop"):
            break
    complete = all(entry["status"] in ("done", "noop") for entry in done)
    body = {"plan_id": str(plan.id), "steps": done, "complete": complete}
    runner.run("record_plan_rollback", principal, body)
    return body
