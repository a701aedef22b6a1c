"""A plan's lifecycle after it is executing, as system actions (DESIGN §8):
each step claimed, done, failed or blocked, and the plan executed or failed,
is an audited action of the executor through the one execution core, so
"what happened to plan X" is answered by the audit log.

Every transition is a conditional UPDATE that must touch one row (STYLE rule
7), written with the plan's refreshed ``details`` and its ``plans.*`` events
in the action's transaction. A transition whose row had already moved is
refused (409) and changes nothing. The step's *effect* is not here: it
commits earlier, in its own action's transaction (plans/execution/steps.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE
from molam_ops.lib.fields import UUIDStringField, iso_utc
from plans.choices import PlanStatus, StepStatus
from plans.execution import leases
from plans.execution.progress import count_terminal, lock_plan, refresh_details
from plans.models import Plan, PlanStep


class _StepInput(serializers.Serializer):
    target_fields = ("plan_id", "index")
    plan_id = UUIDStringField()
    index = serializers.IntegerField(min_value=0)


class ClaimPlanStepInput(_StepInput):
    attempts = serializers.IntegerField(min_value=0)
    recovering = serializers.BooleanField()


class FinishPlanStepInput(_StepInput):
    attempts = serializers.IntegerField(min_value=0)
    status = serializers.ChoiceField(
        choices=[
            StepStatus.DONE,
            StepStatus.FAILED,
            StepStatus.BLOCKED,
            StepStatus.PENDING,
        ]
    )
    result = serializers.DictField()
    error = serializers.CharField(allow_blank=True, default="", trim_whitespace=False)


class BlockPlanStepInput(_StepInput):
    controls = serializers.ListField(child=serializers.CharField(), allow_empty=False)


class FinishPlanInput(serializers.Serializer):
    target_fields = ("plan_id",)
    plan_id = UUIDStringField()
    status = serializers.ChoiceField(choices=[PlanStatus.EXECUTED, PlanStatus.FAILED])
    failed_step = serializers.IntegerField(min_value=0, required=False)


class RecordPlanApprovalInput(serializers.Serializer):
    target_fields = ("plan_id", "approval_id")
    plan_id = UUIDStringField()
    approval_id = UUIDStringField()
    status = serializers.ChoiceField(choices=["approved", "declined", "expired"])


def _moved(plan_id: str, index: int) -> OpsError:
    return OpsError(
        "plan_step_moved",
        _("Step %(index)s of this plan has already moved on.") % {"index": index},
        status=409,
        fields={"plan_id": [plan_id], "index": [index]},
    )


def _emit(ctx: ActionContext, plan: Plan, topic: str, payload: dict[str, Any]) -> None:
    # the execute-plan action's id too, so a consumer ties the run together
    execution = (plan.details or {}).get("execution") or {}
    ctx.emit(
        topic,
        {
            "plan_id": str(plan.id),
            "plan_type": plan.plan_type,
            "execution_action_id": str(execution.get("action_id") or plan.action_id),
            **payload,
        },
    )


def _step_outcome(
    ctx: ActionContext, plan: Plan, step: PlanStep, status: str, **extra: Any
) -> Outcome:
    _emit(
        ctx,
        plan,
        f"plans.plan_step.{status}",
        {
            "index": step.index,
            "action": step.action,
            "status": status,
            "attempts": step.attempts,
            **extra,
        },
    )
    return Outcome(
        target={"plan_id": str(plan.id), "index": step.index, "action": step.action},
        details={"status": status, "attempts": step.attempts, **extra},
    )


@ops_action(
    "claim_plan_step",
    roles={SYSTEM_ROLE},
    input=ClaimPlanStepInput,
    http=False,
)
def claim_plan_step(
    ctx: ActionContext,
    *,
    plan_id: str,
    index: int,
    attempts: int,
    recovering: bool,
) -> Outcome:
    """A worker takes a step: pending|blocked → running (recovering an
    orphan: running → running under a new attempt), attempts + 1, with a
    lease its worker renews while the step runs."""
    lock_plan(plan_id)
    rows = PlanStep.objects.filter(plan_id=plan_id, index=index)
    if recovering:
        rows = rows.filter(status=StepStatus.RUNNING, attempts=attempts)
    else:
        rows = rows.filter(status__in=(StepStatus.PENDING, StepStatus.BLOCKED))
    now = timezone.now()
    if not rows.update(
        status=StepStatus.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        lease_expires_at=leases.expiry(now),
        error="",
    ):
        raise _moved(plan_id, index)
    step = PlanStep.objects.get(plan_id=plan_id, index=index)
    plan = refresh_details(step.plan_id)
    return _step_outcome(ctx, plan, step, StepStatus.RUNNING, recovering=recovering)


@ops_action(
    "finish_plan_step",
    roles={SYSTEM_ROLE},
    input=FinishPlanStepInput,
    http=False,
)
def finish_plan_step(
    ctx: ActionContext,
    *,
    plan_id: str,
    index: int,
    attempts: int,
    status: str,
    result: dict[str, Any],
    error: str = "",
) -> Outcome:
    """running (this attempt) → done | failed | blocked (or pending, reset by
    the runbook); a failed step fails its plan in the same transaction."""
    lock_plan(plan_id)
    ended = status in (StepStatus.DONE, StepStatus.FAILED)
    if not PlanStep.objects.filter(
        plan_id=plan_id, index=index, status=StepStatus.RUNNING, attempts=attempts
    ).update(
        status=status,
        result=result,
        error=error,
        finished_at=timezone.now() if ended else None,
        lease_expires_at=None,
    ):
        raise _moved(plan_id, index)
    step = PlanStep.objects.get(plan_id=plan_id, index=index)
    plan = refresh_details(step.plan_id)
    outcome = _step_outcome(ctx, plan, step, status, error=error)
    # the plan lock is held: a plan cancelled meanwhile stays cancelled, and
    # the step's own failure is still recorded
    executing = Plan.objects.filter(pk=plan_id, status=PlanStatus.EXECUTING)
    if status == StepStatus.FAILED and executing.exists():
        _move_plan(ctx, plan_id, PlanStatus.FAILED, failed_step=index)
    return outcome


@ops_action(
    "block_plan_step",
    roles={SYSTEM_ROLE},
    input=BlockPlanStepInput,
    http=False,
)
def block_plan_step(
    ctx: ActionContext, *, plan_id: str, index: int, controls: list[str]
) -> Outcome:
    """pending → blocked before a claim: a control forbids the step now (a
    step already blocked only has its reason refreshed)."""
    error = "blocked by " + ", ".join(controls)
    lock_plan(plan_id)
    rows = PlanStep.objects.filter(plan_id=plan_id, index=index)
    if rows.filter(status=StepStatus.PENDING).update(
        status=StepStatus.BLOCKED, error=error
    ):
        plan = refresh_details(plan_id)
        return _step_outcome(
            ctx, plan, rows.get(), StepStatus.BLOCKED, controls=controls
        )
    if not rows.filter(status=StepStatus.BLOCKED).update(error=error):
        raise _moved(plan_id, index)
    refresh_details(plan_id)
    return Outcome(
        target={"plan_id": plan_id, "index": index},
        details={"status": StepStatus.BLOCKED, "controls": controls, "refreshed": True},
    )


def _move_plan(ctx: ActionContext, plan_id: str, status: str, **extra: Any) -> Plan:
    """executing → ``status``, inside the calling action's transaction."""
    now = timezone.now()
    if not Plan.objects.filter(pk=plan_id, status=PlanStatus.EXECUTING).update(
        status=status, updated_at=now
    ):
        raise OpsError(
            "plan_not_executing",
            _("This plan is no longer executing."),
            status=409,
            fields={"plan_id": [plan_id]},
        )
    plan = refresh_details(plan_id, finished_at=iso_utc(now), **extra)
    details = plan.details or {}
    counts = {"done": details.get("done"), "total": details.get("total")}
    _emit(ctx, plan, f"plans.plan.{status}", {"status": status, **counts})
    count_terminal(plan, status)
    return plan


@ops_action(
    "finish_plan",
    roles={SYSTEM_ROLE},
    input=FinishPlanInput,
    http=False,
)
def finish_plan(
    ctx: ActionContext, *, plan_id: str, status: str, failed_step: int | None = None
) -> Outcome:
    """executing → executed (every step done) or failed (a step row says so)."""
    extra = {} if failed_step is None else {"failed_step": failed_step}
    plan = _move_plan(ctx, plan_id, status, **extra)
    details = plan.details or {}
    return Outcome(
        target={"plan_id": plan_id, "plan_type": plan.plan_type},
        details={
            "status": status,
            "done": details.get("done"),
            "total": details.get("total"),
            **extra,
        },
    )


@ops_action(
    "record_plan_approval",
    roles={SYSTEM_ROLE},
    input=RecordPlanApprovalInput,
    http=False,
)
def record_plan_approval(
    ctx: ActionContext, *, plan_id: str, approval_id: str, status: str
) -> Outcome:
    """The plan's approval decided: quorum → ``approved``; declined or expired
    → ``rejected``. Conditional on the plan still waiting under it."""
    waiting = Plan.objects.filter(pk=plan_id, approval_id=approval_id)
    if status == "approved":
        moved = waiting.filter(status=PlanStatus.PENDING).update(
            status=PlanStatus.APPROVED, updated_at=timezone.now()
        )
        new = PlanStatus.APPROVED
    else:
        # an approved plan whose token expired unused cannot run either
        moved = waiting.filter(
            status__in=(PlanStatus.PENDING, PlanStatus.APPROVED)
        ).update(status=PlanStatus.REJECTED, updated_at=timezone.now())
        new = PlanStatus.REJECTED
    if not moved:
        raise OpsError(
            "plan_not_waiting",
            _("This plan no longer waits for this approval."),
            status=409,
            fields={"plan_id": [plan_id]},
        )
    return Outcome(
        target={"plan_id": plan_id, "approval_id": approval_id},
        details={"approval_status": status, "plan_status": new},
    )
