"""The plan executor's Celery tasks (imported by ``plans.tasks``, whose names
they carry, so beat and the routes say ``plans.tasks.*``). Thin: they take ids,
call ``plans.execution`` and are safe to run twice (STYLE rule 9)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from plans.execution import steps, takeup
from plans.execution.resume import plans_to_resume


@shared_task(
    bind=True,
    name="plans.tasks.execute_plan_steps",
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    # BUSY: another worker holds the plan; if it is alive it finishes the
    # plan, if it died PostgreSQL frees its lock within moments
    max_retries=60,
    # killed past it, as if its worker died: the step's lease runs out and
    # beat takes the plan up. The task stops claiming steps after half of it.
    time_limit=int(settings.PLAN_EXECUTION_TIME_LIMIT),
)
def execute_plan_steps(self: Any, plan_id: str) -> str:
    """Run the remaining steps of an ``executing`` plan, in order."""
    deadline = time.monotonic() + settings.PLAN_EXECUTION_TIME_LIMIT / 2
    outcome = steps.run_plan(uuid.UUID(plan_id), deadline=deadline)
    if outcome == steps.BUSY:
        raise self.retry(countdown=settings.PLAN_BUSY_RETRY_SECONDS)
    if outcome == steps.CONTINUE:
        queue_plan(plan_id)
    return outcome


def queue_plan(plan_id: uuid.UUID | str) -> None:
    """Queue the plan's execution (after the commit that made it executing)."""
    execute_plan_steps.delay(str(plan_id))


@shared_task(name="plans.tasks.resume_blocked_steps", ignore_result=True)
def resume_blocked_steps() -> int:
    """Beat: queue again the plans whose blocked step no control forbids now."""
    ids = plans_to_resume()
    for plan_id in ids:
        queue_plan(plan_id)
    return len(ids)


@shared_task(name="plans.tasks.take_up_orphaned_steps", ignore_result=True)
def take_up_orphaned_steps() -> int:
    """Beat: settle and queue again the plans whose worker died mid-step
    (its step's lease ran out) or between two steps, without waiting for the
    broker to hand the dead worker's message out again."""
    taken = takeup.take_up()
    idle = takeup.abandoned_plans()
    for plan_id in idle:
        queue_plan(plan_id)
    return len(taken) + len(idle)
