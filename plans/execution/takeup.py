"""Beat's take-up of plans whose worker died (``take_up_orphaned_steps``).

A worker killed in the middle of a step leaves it ``running``, and its
message unacknowledged until the broker's visibility timeout, which must
outlast the longest task (molam_ops/settings.py). Beat does not wait for it:
every ``PLAN_LEASE_SWEEP_INTERVAL`` it looks for running steps whose lease ran
out, makes sure their worker is gone (the plan's lock on PostgreSQL, the
lease itself on SQLite) and runs the runbook's ``execute_stuck_plan`` action
for the plan, as ``beat:take_up_orphaned_steps``: each step settled by its
idempotency record (done if its effect committed, reset if not), audited, and
the plan queued again. ``orphaned_only`` makes the action refuse a plan
nothing is left to settle in, so a plan is taken up once.

A worker can also die *between* two steps: no step is running then, and the
plan is idle. An executing plan with no running or blocked step that has not
moved for a whole lease (each step's transition refreshes ``updated_at``) is
queued again once no worker holds it; there is nothing to settle, and a
message too many finds the plan taken or done.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction
from django.utils import timezone

from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from plans.choices import PlanStatus, StepStatus
from plans.execution import leases, locks, recovery
from plans.models import Plan, PlanStep

log = logging.getLogger("plans.execution")

ACTOR = "beat:take_up_orphaned_steps"
# refusals of a plan another worker or a person got to first
LOST_RACE = frozenset({"plan_busy", "plan_not_executing", "plan_not_stuck"})


def expired_plans() -> list[uuid.UUID]:
    """Executing plans with a running step whose lease ran out."""
    ids = (
        PlanStep.objects.filter(
            leases.expired_steps(),
            status=StepStatus.RUNNING,
            plan__status=PlanStatus.EXECUTING,
        )
        .order_by("plan_id")
        .values_list("plan_id", flat=True)
        .distinct()
    )
    return list(ids[:100])


def _orphaned(plan_id: uuid.UUID) -> bool:
    """Read under the plan's lock, as the action will: is there a step to
    settle? (Spares the audit log a refusal at each sweep while a live
    worker, late in renewing, still holds the plan.)"""
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        return False
    with transaction.atomic():
        free = locks.plan_free_in_transaction(plan_id)
        return free and recovery.settles(recovery.review_stuck(plan, lock_free=free))


def idle_plans() -> list[uuid.UUID]:
    """Executing plans, no step running or blocked, unmoved for a lease."""
    now = timezone.now()
    ids = (
        Plan.objects.filter(
            status=PlanStatus.EXECUTING, updated_at__lte=now - leases.length()
        )
        .exclude(step_rows__status__in=(StepStatus.RUNNING, StepStatus.BLOCKED))
        .order_by("updated_at")
        .values_list("id", flat=True)
    )
    return list(ids[:100])


def _unheld(plan_id: uuid.UUID) -> bool:
    with transaction.atomic():
        return locks.plan_free_in_transaction(plan_id)


def take_up() -> list[uuid.UUID]:
    """Settle and queue again each plan a dead worker left; their ids."""
    taken = []
    for plan_id in expired_plans():
        if not _orphaned(plan_id):
            continue
        try:
            runner.run(
                "execute_stuck_plan",
                system_principal(ACTOR),
                {"plan_id": str(plan_id), "orphaned_only": True},
            )
        except OpsError as exc:
            if exc.code not in LOST_RACE:
                raise
            continue
        log.warning("plan %s: took up the step a dead worker left", plan_id)
        taken.append(plan_id)
    return taken


def abandoned_plans() -> list[uuid.UUID]:
    """The idle plans no worker holds: to queue again."""
    ids = [plan_id for plan_id in idle_plans() if _unheld(plan_id)]
    for plan_id in ids:
        log.warning("plan %s: idle with no worker, queued again", plan_id)
    return ids
