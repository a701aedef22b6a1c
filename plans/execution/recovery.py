"""The seed's runbook, as code: "execute stuck plan" and "roll back failed plan".

Both are reads here (what would be done); the writes are the ops actions in
``plans.services.execution``, run by the management commands through the
runner as a system principal, so a dry run and the real run decide alike.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from molam_ops.actions import idempotency
from plans.choices import StepStatus
from plans.execution import locks, progress
from plans.models import Plan, PlanStep

# --- execute_stuck_plan ---------------------------------------------------------

MARK_DONE = "mark_done"  # the effect committed: its stored response says so
RESET = "reset"  # the effect did not commit: run the step again
WAIT = "wait"  # its worker may be alive (lock held, or lease live): leave it
REQUEUE = "requeue"  # pending or blocked: the executor takes it


@dataclass(frozen=True)
class StuckStep:
    index: int
    action: str
    status: str
    decision: str
    attempts: int
    response: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("response")
        return data


def _committed_response(plan_id: uuid.UUID, index: int) -> dict[str, Any] | None:
    """The stored 2xx response of the step's effect, if it committed."""
    return idempotency.committed_response(
        scope=progress.EXECUTOR.id, key=progress.step_key(plan_id, index)
    )


def review_stuck(plan: Plan, *, lock_free: bool) -> list[StuckStep]:
    """What ``execute_stuck_plan`` does with each unfinished step. A running
    step is judged only once its worker is gone (``locks.orphaned``): then its
    idempotency record tells whether its effect committed."""
    review = []
    unfinished = (
        PlanStep.objects.filter(plan=plan)
        .exclude(status__in=(StepStatus.DONE, StepStatus.CANCELLED))
        .order_by("index")
    )
    for step in unfinished:
        decision, response = REQUEUE, None
        if step.status == StepStatus.RUNNING:
            if not locks.orphaned(step, lock_held=lock_free):
                decision = WAIT
            else:
                response = _committed_response(plan.id, step.index)
                decision = MARK_DONE if response is not None else RESET
        elif step.status == StepStatus.FAILED:
            continue
        review.append(
            StuckStep(
                step.index, step.action, step.status, decision, step.attempts, response
            )
        )
    return review


def settles(review: list[StuckStep]) -> bool:
    """Does the review settle a running step (its worker gone)?"""
    return any(item.decision in (MARK_DONE, RESET) for item in review)


# --- rollback_failed_plan -------------------------------------------------------


@dataclass(frozen=True)
class Inverse:
    of_index: int
    action: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def inverse_steps(plan: Plan) -> list[Inverse]:
    """The inverse of each done step, latest first: payouts moved back, funds
    transferred back, and a bank resumed only if this plan paused it (a
    ``noop`` pause found it paused already).

    Resumes come first, against the strict reverse order: a risk plan pauses a
    bank then moves its payouts away, and moving them back to a bank still
    paused is refused (a pause forbids payouts to it).
    """
    reason = f"rollback of plan {plan.id}"
    resumes: list[Inverse] = []
    others: list[Inverse] = []
    done = PlanStep.objects.filter(plan=plan, status=StepStatus.DONE).order_by("-index")
    for step in done:
        result = step.result or {}
        if result.get("noop"):
            continue
        if step.action == "pause_bank":
            fields = {"bank_profile_id": step.fields.get("bank_profile_id")}
            resumes.append(
                Inverse(step.index, "resume_bank", {**fields, "reason": reason})
            )
        elif step.action == "reroute_payouts":
            moved = result.get("reroute") or {}
            if moved.get("payout_ids"):
                fields = {
                    "from_bank_id": moved["to_bank_id"],
                    "to_bank_id": moved["from_bank_id"],
                    "count": len(moved["payout_ids"]),
                    "payout_ids": moved["payout_ids"],
                }
                if moved.get("currency"):  # a seed-shaped step may move several
                    fields["currency"] = moved["currency"]
                others.append(
                    Inverse(step.index, "reroute_payouts", {**fields, "reason": reason})
                )
        elif step.action == "transfer_funds":
            sent = result.get("transfer") or {}
            fields = {
                "from_account_id": sent.get("to_account_id"),
                "to_account_id": sent.get("from_account_id"),
                "amount": sent.get("amount"),
            }
            others.append(
                Inverse(step.index, "transfer_funds", {**fields, "reason": reason})
            )
    return resumes + others


def rollback_key(plan_id: uuid.UUID, inverse: Inverse) -> str:
    return f"plan:{plan_id}:rollback:{inverse.of_index}"
