"""Mail to the approvers who may still sign: the request's summary sentence
(who asks for what, on which target, how much, why, until when), the
signatures so far, and a link to the dashboard with the request open
(DESIGN §7). Sent by a worker (approvals/tasks.py), never in the request."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.utils import translation
from django.utils.translation import gettext as _

from approvals.lifecycle import effective_status
from approvals.models import ApprovalRequest
from approvals.summaries import action_label, signers_line, summary

log = logging.getLogger(__name__)


def eligible_emails(approval: ApprovalRequest) -> list[str]:
    """Active users linked to a Molam ID subject and holding an approver
    role, other than the initiator and those who already decided."""
    decided = {s.signer_id for s in approval.signatures.all()}
    users = (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__name__in=settings.APPROVER_ROLES,
            molam_identity__isnull=False,
        )
        .exclude(email="")
        .exclude(molam_identity__molam_subject=approval.initiator_id)
        .exclude(molam_identity__molam_subject__in=decided)
        .distinct()
    )
    return sorted({user.email for user in users})


def dashboard_link(approval: ApprovalRequest) -> str:
    return f"{settings.PUBLIC_BASE_URL}/?approval={approval.id}"


def render(approval: ApprovalRequest) -> tuple[str, str]:
    """Subject and body, in the service's language."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[Molam Ops] Signature needed: %(action)s") % {
            "action": action_label(approval)
        }
        lines = [
            summary(approval),
            "",
            signers_line(approval),
            "",
            _("Open it in the dashboard to sign or decline:"),
            f"  {dashboard_link(approval)}",
        ]
    return subject, "\n".join(lines)


def notify_approvers(approval_id: uuid.UUID) -> int:
    approval = (
        ApprovalRequest.objects.prefetch_related("signatures")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None or effective_status(approval) != "pending":
        return 0
    recipients = eligible_emails(approval)
    if not recipients:
        log.warning("approval %s: no eligible approver has an email", approval_id)
        return 0
    subject, body = render(approval)
    sender = settings.DEFAULT_FROM_EMAIL
    # an SMTP failure (OSError) propagates: the task retries it
    return send_mass_mail([(subject, body, sender, [r]) for r in recipients])
