"""Celery tasks of the approvals app: expiry (beat) and the approvers' mail."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.utils import timezone

from approvals import notifications
from approvals.lifecycle import OPEN
from approvals.models import ApprovalRequest
from molam_ops.actions import runner
from molam_ops.identity import system_principal

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def expire_approvals() -> int:
    """Beat: expire due requests through the runner (one audited action)."""
    if not ApprovalRequest.objects.filter(
        status__in=OPEN, expires_at__lte=timezone.now()
    ).exists():
        return 0
    result = runner.run("expire_approvals", system_principal("beat"), {})
    return int(result.body["log"]["details"]["expired"])


@shared_task(ignore_result=True, autoretry_for=(OSError,), max_retries=3)
def notify_approvers(approval_id: str) -> int:
    """Mail the approvers who may still sign (a worker's job, never the
    request's: SMTP can be slow or down)."""
    return notifications.notify_approvers(uuid.UUID(approval_id))


def queue_notification(approval_id: uuid.UUID) -> None:
    """After commit: hand the mail to a worker. Mail is advisory, so a broker
    that is down loses the mail, never the request."""
    try:
        notify_approvers.delay(str(approval_id))
    except Exception:
        log.warning("could not queue the approvers' mail for %s", approval_id)
