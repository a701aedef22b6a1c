"""The sentence an approval is read as (DESIGN §6: ``summary``), rendered in
the reader's language from the facts its action recorded when it was asked
for: who asks, to do what, on which target, how much with its currency and
the USD equivalent the thresholds counted, why, and until when.

Each action states what it does as an untranslated message id (``what``,
marked with ``gettext_noop`` where the action is declared) with its arguments;
rendering translates it then, for whoever reads it.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from approvals.choices import ApprovalStatus
from approvals.lifecycle import effective_status
from approvals.models import ApprovalRequest


def money(amount: Any, currency: str = "") -> str:
    """``12,000.00 EUR`` / ``12 000,00 EUR``, grouped for the reader."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}".strip()
    text = formats.number_format(value, 2, use_l10n=True, force_grouping=True)
    return f"{text} {currency}".strip()


def action_label(approval: ApprovalRequest) -> str:
    """What is asked, in a few words ("freeze all payouts")."""
    facts = approval.facts or {}
    what = facts.get("what")
    if not what:
        return approval.action_type.replace("_", " ")
    args = dict(facts.get("what_args") or {})
    for name in facts.get("translate_args") or ():
        if isinstance(args.get(name), str):
            args[name] = _(args[name])
    try:
        return _(what) % args
    except (KeyError, TypeError, ValueError):
        return _(what)


def _amount(facts: dict[str, Any]) -> str:
    if facts.get("amount") in (None, ""):
        return ""
    amount = money(facts["amount"], facts.get("currency", ""))
    usd = facts.get("amount_usd")
    if usd in (None, "") or facts.get("currency") == "USD":
        return amount
    return _("%(amount)s (%(usd)s counted against the thresholds)") % {
        "amount": amount,
        "usd": money(usd, "USD"),
    }


def plan_preview(totals: dict[str, Any]) -> str:
    """A plan's preview totals (plans/services/preview.py): what signing it
    changes."""
    count = int(totals.get("payouts_moved") or 0)
    paused = int(totals.get("banks_paused") or 0)
    return _(
        "moves %(payouts)s, worth %(amount)s; fees %(before)s → %(after)s; %(paused)s"
    ) % {
        "payouts": ngettext("%(n)s payout", "%(n)s payouts", count)
        % {"n": _count(count)},
        "amount": money(totals.get("amount_moved_usd") or 0, "USD"),
        "before": money(totals.get("fees_before_usd") or 0, "USD"),
        "after": money(totals.get("fees_after_usd") or 0, "USD"),
        "paused": ngettext("%(n)s bank paused", "%(n)s banks paused", paused)
        % {"n": _count(paused)},
    }


def _count(n: int) -> str:
    return str(formats.number_format(n, 0, use_l10n=True, force_grouping=True))


def signers_line(approval: ApprovalRequest) -> str:
    approvers = [
        s.signer_id for s in approval.signatures.all() if s.decision == "approve"
    ]
    counts = {"current": len(approvers), "required": approval.required_approvals}
    if not approvers:
        return _("%(current)s of %(required)s signatures") % counts
    return _("%(current)s of %(required)s signatures, by %(names)s") % {
        **counts,
        "names": ", ".join(approvers),
    }


def deadline(approval: ApprovalRequest) -> str:
    when = timezone.localtime(approval.expires_at, UTC)
    return formats.date_format(when, "DATETIME_FORMAT", use_l10n=True) + " UTC"


def summary(approval: ApprovalRequest) -> str:
    """One sentence, in the active language."""
    facts = approval.facts or {}
    parts = [
        _("%(initiator)s asks to %(what)s")
        % {"initiator": approval.initiator_id, "what": action_label(approval)}
    ]
    amount = _amount(facts)
    if amount:
        parts.append(amount)
    if approval.action_type == "execute_plan" and facts.get("preview"):
        parts.append(plan_preview(facts["preview"]))
    if facts.get("reason"):
        parts.append(_("reason: “%(reason)s”") % {"reason": facts["reason"]})
    parts.append(signers_line(approval))
    status = effective_status(approval)
    if status in ("pending", "approved"):
        parts.append(_("until %(deadline)s") % {"deadline": deadline(approval)})
    else:
        label = ApprovalStatus(status).label
        parts.append(_("now %(status)s") % {"status": label})
    return " — ".join(parts) + "."
