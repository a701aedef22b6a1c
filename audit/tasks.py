"""Beat's audit tasks: sign a Merkle checkpoint of the log
(audit/checkpoints.py); keep partitions ahead of its rows (audit/partitions.py)."""

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction

from audit import checkpoints, partitions
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
