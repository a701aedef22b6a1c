"""The executor: runs a plan's steps in order, each at most once.

One Celery task per plan (``plans.tasks.execute_plan_steps``) calls
:func:`run_plan`; see the package docstring for why, and for the reasoning
that makes each step's effect happen at most once.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from molam_ops.actions import idempotency, runner
from molam_ops.errors import OpsError
from plans.choices import PlanStatus, StepStatus
from plans.execution import leases, locks, progress
from plans.execution.blockers import step_blockers
from plans.models import Plan, PlanStep
from plans.services import plan_payouts

log = logging.getLogger("plans.execution")

# what run_plan reports (the task retries on BUSY)
EXECUTED = "executed"
FAILED = "failed"
BLOCKED = "blocked"
BUSY = "busy"
STOPPED = "stopped"
CONTINUE = "continue"  # out of time: the rest of the plan goes to a new task

BLOCKED_CODES = frozenset({"blocked_by_control"})
# refusals that mean the step's effect is already in place: the step is done
ALREADY_DONE_CODES = frozenset({"bank_already_paused"})


@dataclass(frozen=True)
class StepOutcome:
    kind: str  # done | blocked | failed | busy
    body: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    message: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def run_plan(plan_id: uuid.UUID, *, deadline: float | None = None) -> str:
    """Run what is left of an ``executing`` plan, in step order, until it is
    executed, a step fails or blocks, or it is cancelled. Safe to call twice,
    at once or after a crash: see the package docstring. No step is claimed
    past ``deadline`` (``time.monotonic()``): the answer is then CONTINUE."""
    with locks.plan_lock(plan_id) as held:
        if not held:
            return BUSY
        return _run_steps(plan_id, lock_held=held, deadline=deadline)


def _next_step(plan_id: uuid.UUID) -> PlanStep | None:
    return (
        PlanStep.objects.filter(plan_id=plan_id)
        .exclude(status=StepStatus.DONE)
        .order_by("index")
        .first()
    )


def _run_steps(plan_id: uuid.UUID, *, lock_held: bool, deadline: float | None) -> str:
    while True:
        if deadline is not None and time.monotonic() > deadline:
            return CONTINUE
        plan = Plan.objects.filter(pk=plan_id).first()
        if plan is None or plan.status != PlanStatus.EXECUTING:
            return STOPPED
        step = _next_step(plan_id)
        if step is None:
            progress.complete(plan_id)
            return EXECUTED
        if step.status == StepStatus.FAILED:
            progress.fail(plan_id, failed_step=step.index)  # died in between
            return FAILED
        if step.status == StepStatus.CANCELLED:
            return STOPPED  # cancel-plan moves the plan itself
        if step.status == StepStatus.RUNNING:
            if not locks.orphaned(step, lock_held=lock_held):
                return BUSY
            outcome = _run_step(plan, step, recovering=True)
        else:
            keys = step_blockers(step.action, step.fields)
            if keys:
                progress.block(step, keys)
                return BLOCKED
            outcome = _run_step(plan, step, recovering=False)
        if outcome is not None and outcome != EXECUTED:
            return outcome
        # done (or the claim lost to cancel-plan): look again


def _run_step(plan: Plan, step: PlanStep, *, recovering: bool) -> str | None:
    claimed = progress.claim(step, recovering=recovering)
    if claimed is None:
        return None
    key = progress.step_key(plan.id, step.index)
    if recovering:
        # The last attempt's worker is gone (locks.orphaned) and with it its
        # transaction: its effect either committed together with its stored
        # response, which the runner now replays, or rolled back, leaving a
        # reservation no one will ever complete. Only the latter is released.
        idempotency.release(scope=progress.EXECUTOR.id, key=key)
    renew = partial(leases.renew_step, claimed.pk, claimed.attempts)
    with leases.renewing(renew, f"plan {plan.id} step {step.index}"):
        # read once per attempt: a plan may move 100,000 payouts in one step
        chosen = selected(plan, claimed)
        outcome = _call(plan, claimed, key, chosen=chosen)
        return _record(claimed, key, outcome, chosen=chosen)


def step_payload(plan: Plan, step: PlanStep) -> dict[str, Any]:
    """The step's fields as its action's input; a bank pause gets a reason
    naming the plan when the planner gave none."""
    return _payload(plan, step, selected(plan, step))


def _payload(plan: Plan, step: PlanStep, ids: list[str] | None) -> dict[str, Any]:
    payload = dict(step.fields or {})
    if step.action == "pause_bank" and not payload.get("reason"):
        payload["reason"] = f"plan {plan.id} step {step.index} ({plan.plan_type})"
    if ids:
        # exactly the payouts the preview named (those still pending there);
        # the band and the value cap chose them already, at build time
        for name in ("amount", "amount_min", "amount_max"):
            payload.pop(name, None)
        payload.update(payout_ids=ids, count=len(ids))
    return payload


def selected(plan: Plan, step: PlanStep) -> list[str] | None:
    """The payouts a reroute step chose when its plan was built; None when it
    chose none that way (then the action's own rule applies, as before)."""
    if step.action != "reroute_payouts":
        return None
    return plan_payouts.selected_ids(plan, step.index)


def _call(
    plan: Plan, step: PlanStep, key: str, *, chosen: list[str] | None
) -> StepOutcome:
    if chosen == []:
        # the preview moved nothing here (no payout matched at build time)
        return StepOutcome("done", code="nothing_selected", message="no payouts")
    try:
        result = runner.run(
            step.action,
            progress.EXECUTOR,
            _payload(plan, step, chosen),
            idempotency_key=key,
        )
    except OpsError as exc:
        return _refused(exc.code, str(exc.message), exc.fields)
    except Exception as exc:  # an unknown action, a bug: the step fails, loudly
        log.exception("plan %s step %s raised", plan.id, step.index)
        return StepOutcome("failed", code="step_error", message=type(exc).__name__)
    if result.status >= 400:  # a refusal stored under the key, replayed
        error = result.body.get("error") or {}
        return _refused(
            str(error.get("code", "")),
            str(error.get("message", "")),
            error.get("fields") or {},
        )
    if result.status != 200:
        return StepOutcome(
            "failed",
            code="step_needs_signatures",
            message="the step asked for signatures",
        )
    return StepOutcome("done", body=result.body)


def _refused(code: str, message: str, fields: dict[str, Any]) -> StepOutcome:
    if code in BLOCKED_CODES:
        return StepOutcome("blocked", code=code, message=message, fields=fields)
    if code in ALREADY_DONE_CODES:
        return StepOutcome("done", code=code, message=message)
    if code == "idempotency_key_in_use":
        # another attempt's reservation is open: not ours to judge here; the
        # retry finds the step running and recovers it once its worker is gone
        return StepOutcome("busy", code=code, message=message)
    return StepOutcome("failed", code=code, message=message, fields=fields)


def step_result(outcome: StepOutcome) -> dict[str, Any]:
    if outcome.kind == "done" and outcome.code:
        return {"noop": outcome.code, "message": outcome.message}
    if outcome.kind == "done":
        body = outcome.body
        row = body.get("log") or {}
        return {
            "log": {k: row.get(k) for k in ("id", "action_id", "status")},
            **{k: v for k, v in body.items() if k not in ("ok", "log")},
        }
    return {
        "error": {
            "code": outcome.code,
            "message": outcome.message,
            "fields": outcome.fields,
        }
    }


def _record(
    step: PlanStep, key: str, outcome: StepOutcome, *, chosen: list[str] | None
) -> str | None:
    if outcome.kind == "busy":
        return BUSY
    if outcome.kind == "blocked":
        _forget_refusal(key)
        keys = [str(k) for k in outcome.fields.get("controls", [])]
        progress.finish(
            step,
            StepStatus.BLOCKED,
            result=step_result(outcome),
            error="blocked by " + (", ".join(keys) or outcome.code),
        )
        return BLOCKED
    if outcome.kind == "failed":
        progress.finish(
            step,
            StepStatus.FAILED,
            result=step_result(outcome),
            error=f"{outcome.code}: {outcome.message}",
        )
        return FAILED
    result = step_result(outcome)
    # how many of its payouts the step moved, and why not the rest
    result.update(progress.tally(step, result, chosen))
    progress.finish(step, StepStatus.DONE, result=result)
    return None


def _forget_refusal(key: str) -> None:
    """A control refused the step inside its effect (it was set between our
    check and the effect): nothing committed, but the runner stored the 409
    under the key and would replay it forever. Forget it, so the step runs
    for real when the control lifts."""
    idempotency.forget_refusal(scope=progress.EXECUTOR.id, key=key, codes=BLOCKED_CODES)
