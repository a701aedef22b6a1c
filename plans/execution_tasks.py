"""The plan executor's Celery tasks (imported by ``plans.tasks``, whose names
they carry, so beat and the routes say ``plans.tasks.*``). Thin: they take ids,
call ``plans.execution`` and are safe to run twice (STYLE rule 9)."""

from __future__ import annotations

import uuid
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from plans.execution import steps
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
)
def execute_plan_steps(self: Any, plan_id: str) -> str:
    """Run the remaining steps of an ``executing`` plan, in order."""
    outcome = steps.run_plan(uuid.UUID(plan_id))
    if outcome == steps.BUSY:
        raise self.retry(countdown=settings.PLAN_BUSY_RETRY_SECONDS)
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
