"""Recovering a plan, as audited ops actions (DESIGN §2, §8):

- ``resume_plan`` (``POST /api/ops/resume-plan``): settle the steps of an
  executing plan whose worker is gone, by their idempotency records, and queue
  the plan again. Beat's take-up runs the same effect as ``execute_stuck_plan``
  (system only, and only when a step is left by a dead worker).
- ``rollback_plan`` (``POST /api/ops/rollback-plan``): run the inverse of
  every done step of a failed or executed plan, each an audited action of the
  ``plan-recovery`` system actor (a bank resume: of the person who asked, as
  only people resume banks), in the action's one transaction.

Both are for the people who execute plans (pay_admin, finance_ops) and for the
runbook commands (system). A rollback moves money, so it is signed by the same
thresholds as any money-moving action; a resume runs only steps of a plan that
was already cleared to execute, so like ``execute_plan`` it asks none.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from molam_ops.actions import idempotency, runner
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.actions.rules import (
    signatures_for_payout_count,
    signatures_for_usd,
    strictest,
)
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE, system_principal
from molam_ops.lib.fields import iso_utc
from payouts.rates import to_usd
from plans.choices import PlanStatus, StepStatus
from plans.execution import locks, progress, recovery, steps
from plans.execution.inputs import (
    ExecuteStuckPlanInput,
    ResumePlanInput,
    RollbackPlanInput,
)
from plans.execution_tasks import queue_plan
from plans.models import Plan, PlanStep
from plans.services.execution import plan_json, plan_or_404

# who runs a rollback's inverse steps (DESIGN §8: system actor for steps)
RECOVERY = system_principal("plan-recovery")
ROLLBACKABLE = (PlanStatus.FAILED, PlanStatus.EXECUTED)


# --- resume_plan / execute_stuck_plan ---------------------------------------------


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
            error=f"reset by {ctx.action_type}: its effect had not committed",
            within=ctx,
        )


def _executing(plan: Plan) -> None:
    if plan.status != PlanStatus.EXECUTING:
        raise OpsError(
            "plan_not_executing",
            _("Only an executing plan can be resumed (this one is %(status)s).")
            % {"status": plan.status},
            status=409,
            fields={"status": [plan.status]},
        )


def _resume(
    ctx: ActionContext, plan_id: uuid.UUID, *, orphaned_only: bool, reason: str = ""
) -> Outcome:
    plan = plan_or_404(plan_id)
    _executing(plan)
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
    lines = recovery.resume_lines(plan, review)
    for item in review:
        _settle(ctx, plan, item)
    plan = progress.refresh_details(plan.id)
    ctx.emit(
        "plans.plan.resumed",
        {"plan_id": str(plan.id), "plan_type": plan.plan_type, "steps": len(review)},
    )
    # robust: the action has committed; with the broker down the answer
    # stands and beat takes the idle plan up (plans/execution/takeup.py)
    transaction.on_commit(lambda: queue_plan(plan.id), robust=True)
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": plan_json(plan, ctx)},
        details={
            "reason": reason,
            "steps": [item.as_dict() for item in review],
            "lines": [line.as_dict() for line in lines],
        },
    )


@ops_action(
    "resume_plan",
    roles={"pay_admin", "finance_ops", SYSTEM_ROLE},
    input=ResumePlanInput,
    resource="plan",
)
def resume_plan(ctx: ActionContext, *, plan_id: uuid.UUID, reason: str = "") -> Outcome:
    """Resume an executing plan whose worker is gone: its unfinished steps are
    settled by their idempotency records and queued again."""
    return _resume(ctx, plan_id, orphaned_only=False, reason=reason)


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
    """Beat's take-up of a plan a dead worker left (``resume_plan``'s effect)."""
    return _resume(ctx, plan_id, orphaned_only=orphaned_only)


# --- rollback_plan ------------------------------------------------------------------


def _rollbackable(plan: Plan) -> None:
    if plan.status not in ROLLBACKABLE:
        raise OpsError(
            "plan_not_rollbackable",
            _(
                "Only a failed or executed plan can be rolled back "
                "(this one is %(status)s)."
            )
            % {"status": plan.status},
            status=409,
            fields={"status": [plan.status]},
        )
    if ((plan.details or {}).get("rollback") or {}).get("complete"):
        raise OpsError(
            "plan_already_rolled_back",
            _("This plan has been rolled back already."),
            status=409,
            fields={"plan_id": [str(plan.id)]},
        )


def _pending_inverses(plan: Plan) -> list[recovery.Inverse]:
    return recovery.inverse_steps(plan, undone=recovery.undone_indexes(plan))


def _totals(inverses: list[recovery.Inverse]) -> tuple[dict[str, Decimal], int]:
    """What the rollback moves back, per currency, and how many payouts."""
    totals: dict[str, Decimal] = {}
    count = 0
    for line in recovery.rollback_lines(inverses):
        moved = line.amount + line.transferred
        if moved:
            totals[line.currency] = totals.get(line.currency, Decimal("0")) + moved
        count += line.payouts
    return totals, count


def _usd(totals: dict[str, Decimal]) -> Decimal:
    return sum((to_usd(a, c) for c, a in totals.items()), Decimal("0"))


def rollback_rule(ctx: ActionContext, data: dict[str, Any]) -> int:
    """Signatures by the USD value moved back (DESIGN §7 amount tiers) and by
    the payouts moved (the plan-execution threshold), for everyone: a shell
    does not skip signatures. An unknown plan or currency needs none here:
    the precheck refuses it."""
    plan = Plan.objects.filter(pk=data["plan_id"]).first()
    if plan is None or plan.status not in ROLLBACKABLE:
        return 0
    totals, count = _totals(_pending_inverses(plan))
    try:
        usd = _usd(totals)
    except OpsError:
        return 0
    return strictest(signatures_for_usd(usd), signatures_for_payout_count(count))


def rollback_precheck(ctx: ActionContext, *, plan_id: uuid.UUID, **_: Any) -> None:
    """Refuse before anyone is asked to sign: unknown plan (404), wrong status
    or already rolled back (409), a currency with no rate (422)."""
    plan = plan_or_404(plan_id)
    _rollbackable(plan)
    _usd(_totals(_pending_inverses(plan))[0])


def rollback_facts(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """What a rollback's approval summary names: the plan, what moves back."""
    plan = plan_or_404(data["plan_id"])
    inverses = _pending_inverses(plan)
    totals, count = _totals(inverses)
    usd = _usd(totals)
    single = next(iter(totals.items())) if len(totals) == 1 else None
    return {
        "what": gettext_noop(
            "roll back plan %(plan)s: %(steps)s steps, %(count)s payouts back"
        ),
        "what_args": {"plan": str(plan.id), "steps": len(inverses), "count": count},
        "target": {"plan_id": str(plan.id), "plan_type": plan.plan_type},
        "totals": {c: str(a) for c, a in sorted(totals.items())},
        "amount": str(single[1]) if single else str(usd),
        "currency": single[0] if single else "USD",
        "amount_usd": str(usd),
    }


def _inner(ctx: ActionContext, inverse: recovery.Inverse) -> ActionContext | None:
    """The context an inverse step runs under: the system's, but a bank
    resume stays with people (DESIGN §4): the caller's, if a pay_admin."""
    principal, role = RECOVERY, SYSTEM_ROLE
    if inverse.action == "resume_bank":
        if ctx.principal.kind == "system" or "pay_admin" not in ctx.principal.roles:
            return None
        principal, role = ctx.principal, "pay_admin"
    return ActionContext(
        action_id=uuid.uuid4(),
        action_type=inverse.action,
        principal=principal,
        role=role,
        meta=ctx.meta,
    )


def _undo(ctx: ActionContext, inverse: recovery.Inverse) -> dict[str, Any]:
    entry: dict[str, Any] = inverse.as_dict()
    inner = _inner(ctx, inverse)
    if inner is None:
        return {**entry, "status": "skipped", "code": "operator_required"}
    try:
        # inside this action's transaction, in a savepoint: a refusal undoes
        # only this step and leaves its rejected row; what went before stays
        result = runner.run_inside(inverse.action, inner, inverse.fields)
    except OpsError as exc:
        if (inverse.action, exc.code) == ("resume_bank", "bank_not_paused"):
            return {**entry, "status": "noop", "code": exc.code}
        return {**entry, "status": "failed", "code": exc.code, "message": str(exc)}
    row = result.body.get("log") or {}
    return {**entry, "status": "done", "log_id": row.get("id")}


def _claim(plan: Plan) -> Plan:
    """The plan, locked for this rollback. Race: two rollbacks of one plan
    would both move its payouts back; the row lock makes the second wait and
    read the first's record (PostgreSQL), and the conditional update on
    ``updated_at`` lets only one of them through where no lock is (SQLite)."""
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    _rollbackable(locked)
    if not Plan.objects.filter(pk=locked.pk, updated_at=locked.updated_at).update(
        updated_at=timezone.now()
    ):
        raise OpsError(
            "plan_busy", _("This plan changed meanwhile; try again."), status=409
        )
    return locked


@ops_action(
    "rollback_plan",
    roles={"pay_admin", "finance_ops", SYSTEM_ROLE},
    input=RollbackPlanInput,
    resource="plan",
    approvals=rollback_rule,
    approval_facts=rollback_facts,
    precheck=rollback_precheck,
)
def rollback_plan(ctx: ActionContext, *, plan_id: uuid.UUID, reason: str) -> Outcome:
    """Roll back a failed or executed plan: the inverse of each done step,
    latest first, each audited; stops at the first that cannot run (a rerun
    goes on from there)."""
    plan = _claim(plan_or_404(plan_id))
    previous = ((plan.details or {}).get("rollback") or {}).get("steps") or []
    kept = [e for e in previous if e.get("status") in ("done", "noop")]
    done: list[dict[str, Any]] = []
    for inverse in _pending_inverses(plan):
        entry = _undo(ctx, inverse)
        done.append(entry)
        if entry["status"] not in ("done", "noop"):
            break
    complete = all(e["status"] in ("done", "noop") for e in done)
    undone = [recovery.Inverse(e["of_index"], e["action"], e["fields"]) for e in done]
    lines = recovery.rollback_lines(
        [u for u, e in zip(undone, done, strict=True) if e["status"] == "done"]
    )
    rollback = {
        "by": ctx.actor_id,
        "at": iso_utc(timezone.now()),
        "reason": reason,
        "complete": complete,
        "steps": kept + done,
    }
    plan = progress.refresh_details(plan.id, rollback=rollback)
    ctx.emit(
        "plans.plan.rolled_back" if complete else "plans.plan.rollback_incomplete",
        {"plan_id": str(plan.id), "plan_type": plan.plan_type, "steps": len(done)},
    )
    return Outcome(
        target={"plan_id": str(plan.id), "plan_type": plan.plan_type},
        resource={"plan": plan_json(plan, ctx)},
        details={
            "reason": reason,
            "complete": complete,
            # ids stay in the plan's details; the audit row keeps the counts
            "steps": [
                {k: v for k, v in e.items() if k != "fields"} for e in kept + done
            ],
            "lines": [line.as_dict() for line in lines],
        },
    )
