"""Emails to eligible approvers: what is asked, how much, which scope, by whom,
until when, and the link (DESIGN §7)."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.utils.translation import gettext as _

from approvals.models import ApprovalRequest

log = logging.getLogger(__name__)


def eligible_emails(approval: ApprovalRequest) -> list[str]:
    """Active users holding an approver role, other than the initiator."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=settings.APPROVER_ROLES)
        .exclude(email="")
        .distinct()
    )
    out = []
    for user in users:
        if approval.initiator_id in {f"user:{user.pk}", user.get_username()}:
            continue
        out.append(user.email)
    return sorted(set(out))


def render(approval: ApprovalRequest) -> tuple[str, str]:
    link = f"{settings.PUBLIC_BASE_URL}/api/ops/approvals/{approval.id}"
    summary = approval.summary
    subject = _("[Molam Ops] Signature needed: %(action)s") % {
        "action": approval.action_type
    }
    lines = [
        _("%(who)s asks for %(n)d signature(s) on: %(what)s")
        % {
            "who": approval.initiator_id,
            "n": approval.required_approvals,
            "what": summary.get("action") or approval.action_type,
        },
        "",
    ]
    for key in (
        "scope",
        "bank_profile_id",
        "amount",
        "currency",
        "total_amount",
        "payout_count",
        "reason",
    ):
        if key in summary:
            lines.append(f"  {key}: {summary[key]}")
    lines += [
        "",
        _("Decide before %(when)s UTC:")
        % {"when": approval.expires_at.strftime("%Y-%m-%d %H:%M")},
        f"  {link}",
        f"  POST {settings.PUBLIC_BASE_URL}/api/ops/approve/{approval.id}",
    ]
    return subject, "\n".join(lines)


def notify_approvers(approval_id: uuid.UUID) -> int:
    approval = ApprovalRequest.objects.filter(pk=approval_id).first()
    if approval is None:
        return 0
    recipients = eligible_emails(approval)
    if not recipients:
        log.warning("approval %s: no eligible approver has an email", approval_id)
        return 0
    subject, body = render(approval)
    sender = settings.DEFAULT_FROM_EMAIL
    try:
        return send_mass_mail([(subject, body, sender, [r]) for r in recipients])
    except Exception:  # mail is advisory: the request stands without it
        log.exception("approval %s: sending email failed", approval_id)
        return 0
