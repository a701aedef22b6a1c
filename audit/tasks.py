"""The audit app's Celery tasks, thin (STYLE rule 9), each safe to run twice:
beat signs a Merkle checkpoint of the log (audit/checkpoints.py), keeps
partitions ahead of its rows (audit/partitions.py) and purges audit jobs;
workers run the jobs (audit/jobs.py)."""

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction

from audit import checkpoints, jobs, partitions
from audit.selectors import action_log_last_seq


@shared_task(ignore_result=True)
def sign_checkpoint() -> int | None:
    """Safe to run twice: with nothing new, nothing is signed."""
    cp = checkpoints.sign_checkpoint()
    return cp.tree_size if cp else None


@shared_task(ignore_result=True)
def ensure_partitions() -> int:
    """Keep at least one full partition of ``ops_actions_log`` ahead of its
    newest row (PostgreSQL); returns how many were made. Safe to run twice:
    the function makes only the missing ones, under a lock of its own."""
    # one transaction: the partitions and their TRUNCATE triggers, or none
    with transaction.atomic():
        return partitions.ensure(
            connection,
            upto_seq=action_log_last_seq(),
            partition_rows=settings.AUDIT_PARTITION_ROWS,
        )


@shared_task(
    name=jobs.RUN_TASK,
    ignore_result=True,
    # under the hard limit (CELERY_TASK_TIME_LIMIT): the job is marked failed
    # and its partial file removed before the worker process is killed
    soft_time_limit=int(settings.TASK_TIME_LIMIT * 0.95) or 1,
)
def run_audit_job(job_id: str, part: int = 0) -> str:
    """Run a queued export or verification; a second delivery finds it
    taken (or finished) and does nothing."""
    return jobs.run(job_id, part)


@shared_task(ignore_result=True)
def purge_audit_jobs() -> int:
    """Beat: fail the jobs a dead worker left running; delete the jobs, and
    their files, past ``expires_at``."""
    jobs.fail_abandoned()
    return jobs.purge_expired()
