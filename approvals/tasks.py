from celery import shared_task
from django.utils import timezone

from approvals.choices import ApprovalStatus
from approvals.models import ApprovalRequest
from molam_ops.actions import runner
from molam_ops.identity import system_principal


@shared_task(ignore_result=True)
def expire_approvals() -> int:
    """Beat: expire due requests through the runner (one audited action)."""
    if not ApprovalRequest.objects.filter(
        status=ApprovalStatus.PENDING, expires_at__lte=timezone.now()
    ).exists():
        return 0
    result = runner.run("expire_approvals", system_principal("beat"), {})
    return int(result.body["log"]["details"]["expired"])
