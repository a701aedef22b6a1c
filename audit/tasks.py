"""The audit app's Celery tasks: thin, they take ids and call audit.jobs;
each is safe to run twice (STYLE rule 9)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from audit import jobs


@shared_task(
    name=jobs.RUN_TASK,
    ignore_result=True,
    # under the hard limit (CELERY_TASK_TIME_LIMIT): the job is marked failed
    # and its partial file removed before the worker process is killed
    soft_time_limit=int(settings.TASK_TIME_LIMIT * 0.95) or 1,
)
def run_audit_job(job_id: str) -> str:
    """Run a queued export or verification; a second delivery finds it
    taken (or finished) and does nothing."""
    return jobs.run(job_id)


@shared_task(ignore_result=True)
def purge_audit_jobs() -> int:
    """Beat: fail the jobs a dead worker left running; delete the jobs, and
    their files, past ``expires_at``."""
    jobs.fail_abandoned()
    return jobs.purge_expired()
