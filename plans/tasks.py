"""The plans app's Celery tasks: thin, they take ids and call services; each
is safe to run twice (STYLE rule 9)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from plans import execution_tasks  # noqa: F401  (its tasks are plans.tasks.*)
from plans.services import generation, suggestion_refresh


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
    # beyond SIRA's worst case (checked at boot); killed past it, its lease
    # runs out and beat queues the generation again
    time_limit=int(settings.PLAN_GENERATION_TIME_LIMIT),
)
def generate_plan_task(plan_id: str) -> str:
    """Build a plan that is ``generating``: SIRA or the local planner, then
    ``record_plan``. A second delivery finds it taken or recorded, and does
    nothing."""
    return generation.build(plan_id)


@shared_task(ignore_result=True)
def requeue_generating_plans() -> int:
    """Beat: queue again the plans left ``generating`` whose worker died (its
    lease ran out) or whose task never ran (broker down at commit)."""
    return generation.requeue_stuck()


@shared_task(
    name=suggestion_refresh.REFRESH_TASK,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def refresh_suggestions() -> bool:
    """Beat, or an operator's ``refresh-suggestions``: ask SIRA (or derive)
    and store what changed. Twice in a row writes nothing the second time."""
    return suggestion_refresh.refresh()


@shared_task(ignore_result=True)
def refresh_suggestions_if_changed() -> bool:
    """Beat, every ``SUGGESTIONS_DEBOUNCE_SECONDS``: the tail of a burst of
    health changes and control switches (suggestion_refresh.refresh_if_changed)."""
    return suggestion_refresh.refresh_if_changed()
