"""A plan's step rows are the truth; ``plan.details`` is their summary.

The executor moves steps and plans through the system actions of
:mod:`plans.services.plan_progress` (each an audited action with its
``plans.*`` events); the functions below are their thin callers, and the
helpers those actions share.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from molam_ops.actions import runner
from molam_ops.actions.context import ActionContext
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from molam_ops.metrics import PLAN_EXECUTIONS
from payouts.choices import PayoutStatus
from payouts.models import Payout
from plans.choices import PlanStatus, StepStatus
from plans.models import Plan, PlanStep

# The executor's principal: its idempotency records are scoped to this id.
EXECUTOR = system_principal("plan-executor")
TERMINAL = (PlanStatus.EXECUTED, PlanStatus.FAILED, PlanStatus.CANCELLED)
# the refusals of a transition whose row had already moved (a lost race)
MOVED = frozenset({"plan_step_moved", "plan_not_executing"})


def step_key(plan_id: uuid.UUID | str, index: int) -> str:
    """The idempotency key of a step's effect: the same on every attempt."""
    return f"plan:{plan_id}:step:{index}"


def summary(plan_id: uuid.UUID | str) -> dict[str, Any]:
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
    counted = [_counts(row) for row in rows]
    return {
        "done": done,
        "total": len(rows),
        # the shape generation first wrote, kept true, with each step's count
        # of payouts: a step done with fewer moved than expected is
        # ``partial`` (its status stays ``done``: the plan went on)
        "progress": {
            "done": done,
            "total": len(rows),
            "partial": sum(bool(c["partial"]) for c in counted),
            "steps": [
                {"index": row.index, "action": row.action, "status": row.status, **c}
                for row, c in zip(rows, counted, strict=True)
            ],
        },
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


def _counts(row: PlanStep) -> dict[str, Any]:
    result = row.result or {}
    if "expected" not in result:
        return {"expected": None, "moved": None, "reasons": {}, "partial": False}
    return {k: result.get(k) for k in ("expected", "moved", "reasons", "partial")}


def tally(
    step: PlanStep, result: dict[str, Any], chosen: list[str] | None
) -> dict[str, Any]:
    """A done reroute step's ``expected``, ``moved`` and ``reasons`` (why
    the others did not move), for its result; {} for other actions.

    ``chosen``: the payouts its plan's preview named; without them (a plan
    built before previews) the step expected its ``count``."""
    if step.action != "reroute_payouts":
        return {}
    body = result.get("reroute") or {}
    moved_ids = {str(i) for i in body.get("payout_ids") or ()}
    if chosen is None:
        expected = int((step.fields or {}).get("count") or 0)
        moved = int(body.get("moved") or 0)
        reasons = {"not_found": expected - moved} if moved < expected else {}
    else:
        expected = len(chosen)
        missing = [i for i in chosen if i not in moved_ids]
        moved = expected - len(missing)
        reasons = why_not_moved(missing, str(step.fields.get("from_bank_id")))
    return {
        "expected": expected,
        "moved": moved,
        "reasons": reasons,
        "partial": moved < expected,
    }


def why_not_moved(ids: list[str], source: str) -> dict[str, int]:
    """Count the payouts a step did not move by the reason, as they are now:
    ``not_pending`` (sent, settled… meanwhile), ``disputed``,
    ``moved_elsewhere`` (no longer at the step's bank), ``not_found``, else
    ``busy`` (the dispatcher held it at that moment)."""
    reasons: dict[str, int] = {}
    found = 0
    for start in range(0, len(ids), 5000):
        rows = Payout.objects.filter(pk__in=ids[start : start + 5000]).values_list(
            "status", "disputed", "bank_profile_id"
        )
        for status, disputed, bank in rows:
            found += 1
            if status != PayoutStatus.PENDING:
                reason = "not_pending"
            elif disputed:
                reason = "disputed"
            elif str(bank) != source:
                reason = "moved_elsewhere"
            else:
                reason = "busy"
            reasons[reason] = reasons.get(reason, 0) + 1
    if found < len(ids):
        reasons["not_found"] = len(ids) - found
    return dict(sorted(reasons.items()))


def refresh_details(plan_id: uuid.UUID | str, **extra: Any) -> Plan:
    """Rewrite the plan's progress; call inside the transaction that moved a
    step or the plan. Other keys of ``details`` (timings, …) are kept."""
    # Race: the executor and cancel-plan both rewrite details; the row lock
    # makes the second wait and read the first's committed steps (PostgreSQL).
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    plan.details = {**(plan.details or {}), **summary(plan_id), **extra}
    plan.updated_at = timezone.now()
    plan.save(update_fields=["details", "updated_at"])
    return plan


def count_terminal(plan: Plan, status: str) -> None:
    """``molam_ops_plan_executions_total``, once the move has committed."""
    labels = {"plan_type": plan.plan_type, "status": status}
    transaction.on_commit(lambda: PLAN_EXECUTIONS.labels(**labels).inc())


def lock_plan(plan_id: uuid.UUID | str) -> None:
    """Take the plan's row first in every transaction that moves a step.

    Race: cancel-plan updates the plan, then its waiting steps; the executor
    would otherwise update a step, then the plan — opposite orders, a
    deadlock on PostgreSQL. Plan first, everywhere."""
    Plan.objects.select_for_update().filter(pk=plan_id).values_list("pk").first()


# --- the executor's calls ----------------------------------------------------


def _transition(
    name: str, payload: dict[str, Any], within: ActionContext | None
) -> bool:
    """Run one transition action as the executor (or, inside another action,
    under ``within``'s principal); False when its row had already moved."""
    try:
        if within is None:
            runner.run(name, EXECUTOR, payload)
        else:
            inner = ActionContext(
                action_id=uuid.uuid4(),
                action_type=name,
                principal=within.principal,
                role=within.role,
                meta=within.meta,
            )
            runner.run_inside(name, inner, payload)
    except OpsError as exc:
        if exc.code in MOVED:
            return False
        raise
    return True


def claim(step: PlanStep, *, recovering: bool) -> PlanStep | None:
    """pending|blocked → running (or, recovering an orphan, running → running
    under a new attempt), attempts + 1; None when the row had moved."""
    payload = {
        "plan_id": str(step.plan_id),
        "index": step.index,
        "attempts": step.attempts,
        "recovering": recovering,
    }
    if not _transition("claim_plan_step", payload, None):
        return None
    step.refresh_from_db()
    return step


def finish(
    step: PlanStep,
    status: str,
    *,
    result: dict[str, Any],
    error: str = "",
    within: ActionContext | None = None,
) -> bool:
    """running (this attempt) → done | failed | blocked, with the plan's progress
    and the event; a failed step fails its plan in the same transaction."""
    payload = {
        "plan_id": str(step.plan_id),
        "index": step.index,
        "attempts": step.attempts,
        "status": status,
        # stored as the API would render it (decimals, times, lazy messages)
        "result": json.loads(json.dumps(result, cls=DjangoJSONEncoder)),
        "error": error,
    }
    return _transition("finish_plan_step", payload, within)


def block(step: PlanStep, keys: list[str]) -> bool:
    """pending → blocked before a claim: a control forbids the step now."""
    payload = {"plan_id": str(step.plan_id), "index": step.index, "controls": keys}
    return _transition("block_plan_step", payload, None)


def complete(plan_id: uuid.UUID) -> bool:
    """executing → executed, once every step is done."""
    payload = {"plan_id": str(plan_id), "status": PlanStatus.EXECUTED}
    return _transition("finish_plan", payload, None)


def fail(plan_id: uuid.UUID, *, failed_step: int) -> bool:
    """executing → failed (a step row already says failed)."""
    payload = {
        "plan_id": str(plan_id),
        "status": PlanStatus.FAILED,
        "failed_step": failed_step,
    }
    return _transition("finish_plan", payload, None)
