"""A plan's step rows are the truth; ``plan.details`` is their summary.

Every transition here is a conditional UPDATE that must touch one row (STYLE
rule 7), written in one short transaction with the plan's refreshed
``details`` and an outbox event (``plans.plan_step.<status>``,
``plans.plan.<status>``), so the bus sees each step move exactly when the
database does. The step's *effect* is not here: it commits earlier, in its own
action's transaction (plans/execution/steps.py).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from molam_ops import outbox
from molam_ops.identity import system_principal
from molam_ops.lib.fields import iso_utc
from molam_ops.metrics import PLAN_EXECUTIONS
from plans.choices import PlanStatus, StepStatus
from plans.models import Plan, PlanStep

# The executor's principal: its idempotency records are scoped to this id.
EXECUTOR = system_principal("plan-executor")
TERMINAL = (PlanStatus.EXECUTED, PlanStatus.FAILED, PlanStatus.CANCELLED)


def step_key(plan_id: uuid.UUID | str, index: int) -> str:
    """The idempotency key of a step's effect: the same on every attempt."""
    return f"plan:{plan_id}:step:{index}"


def summary(plan_id: uuid.UUID) -> dict[str, Any]:
    """``done``/``total``, each step's status and the errors, from the rows."""
    rows = list(PlanStep.objects.filter(plan_id=plan_id).order_by("index"))
    errors = []
    for row in rows:
        if row.status == StepStatus.FAILED:
            error = (row.result or {}).get("error") or {}
            errors.append(
                {
                    "index": row.index,
                    "action": row.action,
                    "code": error.get("code", ""),
                    "message": error.get("message", row.error),
                }
            )
    done = sum(row.status == StepStatus.DONE for row in rows)
    return {
        "done": done,
        "total": len(rows),
        # the shape generation first wrote, kept true
        "progress": {"done": done, "total": len(rows)},
        "steps": [
            {
                "index": row.index,
                "action": row.action,
                "status": row.status,
                "error": row.error,
                "attempts": row.attempts,
            }
            for row in rows
        ],
        "errors": errors,
    }


def refresh_details(plan_id: uuid.UUID, **extra: Any) -> Plan:
    """Rewrite the plan's progress; call inside the transaction that moved a
    step or the plan. Other keys of ``details`` (timings, …) are kept."""
    # Race: the executor and cancel-plan both rewrite details; the row lock
    # makes the second wait and read the first's committed steps (PostgreSQL).
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    plan.details = {**(plan.details or {}), **summary(plan_id), **extra}
    plan.updated_at = timezone.now()
    plan.save(update_fields=["details", "updated_at"])
    return plan


def _event(plan: Plan, topic: str, payload: dict[str, Any]) -> None:
    # under the execute-plan action's id, so a consumer ties the run together
    execution = (plan.details or {}).get("execution") or {}
    outbox.add(
        topic,
        {"plan_id": str(plan.id), "plan_type": plan.plan_type, **payload},
        action_id=execution.get("action_id") or plan.action_id,
    )


def _step_event(plan: Plan, step: PlanStep, status: str, **extra: Any) -> None:
    _event(
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


def count_terminal(plan: Plan, status: str) -> None:
    """``molam_ops_plan_executions_total``, once the move has committed."""
    labels = {"plan_type": plan.plan_type, "status": status}
    transaction.on_commit(lambda: PLAN_EXECUTIONS.labels(**labels).inc())


def _lock_plan(plan_id: uuid.UUID) -> None:
    """Take the plan's row first in every transaction that moves a step.

    Race: cancel-plan updates the plan, then its waiting steps; the executor
    would otherwise update a step, then the plan — opposite orders, a
    deadlock on PostgreSQL. Plan first, everywhere."""
    Plan.objects.select_for_update().filter(pk=plan_id).values_list("pk").first()


# --- steps ------------------------------------------------------------------


def claim(step: PlanStep, *, recovering: bool) -> PlanStep | None:
    """pending|blocked → running (or, recovering an orphan, running → running
    under a new attempt), attempts + 1; None when the row had moved."""
    now = timezone.now()
    # The claim, the plan's progress and the event commit together.
    with transaction.atomic():
        _lock_plan(step.plan_id)
        rows = PlanStep.objects.filter(pk=step.pk)
        if recovering:
            rows = rows.filter(status=StepStatus.RUNNING, attempts=step.attempts)
        else:
            rows = rows.filter(status__in=(StepStatus.PENDING, StepStatus.BLOCKED))
        if not rows.update(
            status=StepStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            error="",
        ):
            return None
        step.refresh_from_db()
        plan = refresh_details(step.plan_id)
        _step_event(plan, step, StepStatus.RUNNING, recovering=recovering)
    return step


def finish(
    step: PlanStep, status: str, *, result: dict[str, Any], error: str = ""
) -> bool:
    """running (this attempt) → done | failed | blocked, with the plan's progress
    and the event; a failed step fails its plan in the same transaction."""
    now = timezone.now()
    # stored as the API would render it (decimals, times, lazy messages)
    result = json.loads(json.dumps(result, cls=DjangoJSONEncoder))
    # The step's outcome, the plan's (on failure) and the events commit together.
    with transaction.atomic():
        _lock_plan(step.plan_id)
        moved = PlanStep.objects.filter(
            pk=step.pk, status=StepStatus.RUNNING, attempts=step.attempts
        ).update(
            status=status,
            result=result,
            error=error,
            finished_at=now if status in (StepStatus.DONE, StepStatus.FAILED) else None,
        )
        if not moved:
            return False
        plan = refresh_details(step.plan_id)
        _step_event(plan, step, status, error=error)
        if status == StepStatus.FAILED:
            _move_plan(step.plan_id, PlanStatus.FAILED, failed_step=step.index)
    return True


def block(step: PlanStep, keys: list[str]) -> bool:
    """pending → blocked before a claim: a control forbids the step now (a
    step already blocked only has its reason refreshed, without an event)."""
    error = "blocked by " + ", ".join(keys)
    # The step's state, the plan's progress and the event commit together.
    with transaction.atomic():
        _lock_plan(step.plan_id)
        rows = PlanStep.objects.filter(pk=step.pk)
        if rows.filter(status=StepStatus.PENDING).update(
            status=StepStatus.BLOCKED, error=error
        ):
            step.refresh_from_db()
            plan = refresh_details(step.plan_id)
            _step_event(plan, step, StepStatus.BLOCKED, controls=keys)
            return True
        if rows.filter(status=StepStatus.BLOCKED).update(error=error):
            refresh_details(step.plan_id)
            return True
    return False


# --- the plan ---------------------------------------------------------------


def _move_plan(plan_id: uuid.UUID, status: str, **extra: Any) -> bool:
    """executing → ``status``; call inside the caller's transaction."""
    now = timezone.now()
    if not Plan.objects.filter(pk=plan_id, status=PlanStatus.EXECUTING).update(
        status=status, updated_at=now
    ):
        return False
    plan = refresh_details(plan_id, finished_at=iso_utc(now), **extra)
    _event(plan, f"plans.plan.{status}", {"status": status, **summary_counts(plan)})
    count_terminal(plan, status)
    return True


def summary_counts(plan: Plan) -> dict[str, Any]:
    details = plan.details or {}
    return {"done": details.get("done"), "total": details.get("total")}


def complete(plan_id: uuid.UUID) -> bool:
    """executing → executed, once every step is done."""
    # The plan's status, its details and its event commit together.
    with transaction.atomic():
        return _move_plan(plan_id, PlanStatus.EXECUTED)


def fail(plan_id: uuid.UUID, **extra: Any) -> bool:
    """executing → failed (a step row already says failed)."""
    # The plan's status, its details and its event commit together.
    with transaction.atomic():
        return _move_plan(plan_id, PlanStatus.FAILED, **extra)
