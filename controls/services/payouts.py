"""retry_payout / mark_dispute / retry_failed_payouts.

The queue itself belongs to the rails (``payouts.services``); these actions are
the operators' levers on it, run by the kernel runner so each is authorised,
idempotent, approval-gated and audited. Every status change is a conditional
UPDATE inside the runner's transaction, so of two concurrent retries of one
payout exactly one moves it (the other sees it pending and gets a 409).

Approval: a retry sends money, so it needs signatures by its amount in USD
(DESIGN §7: > 10,000 USD → 2, > 100,000 USD → 3), a batch by its total.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from audit.selectors import action_requested_at
from controls.payout_inputs import (
    MarkDisputeInput,
    RetryFailedPayoutsInput,
    RetryPayoutInput,
)
from controls.services._common import bank_or_404
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.actions.rules import signatures_for_usd
from molam_ops.errors import OpsError
from molam_ops.lib.fields import iso_utc
from payouts import selectors as payout_selectors
from payouts import services as payout_services
from payouts.api.serializers import PayoutSerializer
from payouts.choices import PayoutStatus
from payouts.models import Payout
from payouts.rates import to_usd


def payout_or_404(payout_id: uuid.UUID) -> Payout:
    payout = payout_selectors.payout_get(payout_id)
    if payout is None:
        raise OpsError(
            "payout_not_found",
            _("No payout with this id."),
            status=404,
            fields={"payout_id": [_("Unknown payout.")]},
        )
    return payout


def _check_retryable(payout: Payout) -> None:
    if payout.disputed:
        raise OpsError(
            "payout_disputed",
            _("This payout is disputed; it is never retried."),
            status=409,
        )
    if payout.status not in payout_services.RETRYABLE:
        raise OpsError(
            "payout_not_retryable",
            _("Only a failed or processing payout can be retried (it is %(status)s).")
            % {"status": payout.status},
            status=409,
        )


def _usd(amount: Decimal, currency: str) -> Decimal | None:
    """The amount in USD, or None when no rate is known (the precheck then
    refuses with 422 before anything is asked or done)."""
    try:
        return to_usd(amount, currency)
    except OpsError:
        return None


# --- retry_payout ---------------------------------------------------------------


def retry_rule(ctx: ActionContext, data: dict[str, Any]) -> int:
    """Signatures by the payout's amount in USD. An unknown payout or currency
    needs none here: the precheck refuses it (the runner asks this rule before
    its transaction, where a refusal could not be audited)."""
    payout = payout_selectors.payout_get(data["payout_id"])
    if payout is None:
        return 0
    usd = _usd(payout.amount, payout.currency)
    return signatures_for_usd(usd) if usd is not None else 0


def retry_precheck(ctx: ActionContext, *, payout_id: uuid.UUID, **_: Any) -> None:
    """Refuse a retry that cannot happen before anyone is asked to sign it."""
    payout = payout_or_404(payout_id)
    _check_retryable(payout)
    to_usd(payout.amount, payout.currency)  # 422 unknown_currency


def retry_facts(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """What a retry's approval summary names: the payout, its bank, its amount."""
    payout = payout_or_404(data["payout_id"])
    bank = bank_or_404(payout.bank_profile_id)
    return {
        "what": gettext_noop("retry payout %(payout)s to %(bank)s"),
        "what_args": {"payout": str(payout.id), "bank": bank.name},
        "target": {"payout_id": str(payout.id), "bank": bank.name},
        "amount": str(payout.amount),
        "currency": payout.currency,
        "amount_usd": str(_usd(payout.amount, payout.currency) or ""),
    }


@ops_action(
    "retry_payout",
    roles={"pay_admin", "ops"},
    input=RetryPayoutInput,
    approvals=retry_rule,
    approval_facts=retry_facts,
    precheck=retry_precheck,
    resource="payout",
)
def retry_payout(
    ctx: ActionContext, *, payout_id: uuid.UUID, reason: str = ""
) -> Outcome:
    """Put a failed or processing payout back in the dispatcher's queue."""
    payout = payout_or_404(payout_id)
    _check_retryable(payout)
    if not payout_services.requeue(payout.id):
        # it moved since we read it (another retry, the dispatcher): say how
        payout.refresh_from_db()
        _check_retryable(payout)
        raise OpsError(
            "payout_not_retryable", _("This payout changed; try again."), status=409
        )
    before = (payout.status, payout.failure_reason)
    payout.refresh_from_db()
    ctx.emit(
        "payouts.payout.retry_requested",
        {
            "payout_id": str(payout.id),
            "bank_profile_id": str(payout.bank_profile_id),
            "bank_reference": payout.bank_reference,
            "previous_status": before[0],
        },
    )
    return Outcome(
        target={
            "payout_id": str(payout.id),
            "bank_profile_id": str(payout.bank_profile_id),
        },
        resource={"payout": PayoutSerializer(payout).data},
        details={
            "reason": reason,
            "previous_status": before[0],
            "previous_failure_reason": before[1],
            "attempts": payout.attempts,
            "bank_reference": payout.bank_reference,
            "amount": payout.amount,
            "currency": payout.currency,
            "amount_usd": to_usd(payout.amount, payout.currency),
        },
    )


# --- mark_dispute ---------------------------------------------------------------


@ops_action(
    "mark_dispute",
    roles={"pay_admin", "finance_ops"},
    input=MarkDisputeInput,
    resource="payout",
)
def mark_dispute(ctx: ActionContext, *, payout_id: uuid.UUID, reason: str) -> Outcome:
    """Mark a payout disputed: from then on it is never dispatched or retried."""
    payout = payout_or_404(payout_id)
    if not payout_services.mark_disputed(payout.id):
        raise OpsError(
            "already_disputed", _("This payout is already disputed."), status=409
        )
    payout.refresh_from_db()
    ctx.emit(
        "payouts.payout.disputed",
        {
            "payout_id": str(payout.id),
            "bank_profile_id": str(payout.bank_profile_id),
            "status": payout.status,
            "reason": reason,
        },
    )
    return Outcome(
        target={
            "payout_id": str(payout.id),
            "bank_profile_id": str(payout.bank_profile_id),
        },
        resource={"payout": PayoutSerializer(payout).data},
        details={
            "reason": reason,
            "status": payout.status,
            "amount": payout.amount,
            "currency": payout.currency,
        },
    )


# --- retry_failed_payouts -------------------------------------------------------


def _total_usd(totals: dict[str, Decimal], *, strict: bool = False) -> Decimal | None:
    """The USD sum of per-currency totals; None (or, ``strict``, a 422) when a
    currency has no rate."""
    if strict:
        return sum((to_usd(a, c) for c, a in totals.items()), Decimal("0"))
    converted = [_usd(amount, currency) for currency, amount in totals.items()]
    if any(c is None for c in converted):
        return None
    return sum((c for c in converted if c is not None), Decimal("0"))


def retry_failed_rule(ctx: ActionContext, data: dict[str, Any]) -> int:
    """Signatures by the USD total of the payouts the batch would retry now."""
    _count, totals = payout_services.failed_totals(
        bank_profile_id=data.get("bank_profile_id"), since=data.get("since")
    )
    usd = _total_usd(totals)
    return signatures_for_usd(usd) if usd is not None else 0


def _nothing_to_retry() -> OpsError:
    return OpsError(
        "no_failed_payouts",
        _("No failed payout matches; nothing to retry."),
        status=409,
    )


def retry_failed_precheck(
    ctx: ActionContext,
    *,
    bank_profile_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> None:
    if bank_profile_id:
        bank_or_404(bank_profile_id)
    count, totals = payout_services.failed_totals(
        bank_profile_id=bank_profile_id, since=since
    )
    if not count:
        raise _nothing_to_retry()
    for currency in totals:
        to_usd(Decimal("1"), currency)  # 422 unknown_currency


def _requested_at(ctx: ActionContext) -> datetime | None:
    """When this action was asked for, if it waited for signatures: the batch
    then retries only what had failed by then — what the signers approved —
    not payouts that failed while they were signing."""
    return action_requested_at(ctx.action_id)


def retry_failed_facts(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """What a batch retry's approval summary names: how many payouts, where,
    since when, their totals per currency and in USD."""
    bank_id, since = data.get("bank_profile_id"), data.get("since")
    count, totals = payout_services.failed_totals(bank_profile_id=bank_id, since=since)
    bank = bank_or_404(bank_id).name if bank_id else None
    args = {"count": count, "bank": bank, "since": iso_utc(since)}
    what = (
        gettext_noop("retry %(count)s failed payouts at %(bank)s")
        if bank
        else gettext_noop("retry %(count)s failed payouts at every bank")
    )
    if since:
        what = (
            gettext_noop("retry %(count)s failed payouts at %(bank)s, since %(since)s")
            if bank
            else gettext_noop(
                "retry %(count)s failed payouts at every bank, since %(since)s"
            )
        )
    single = next(iter(totals.items())) if len(totals) == 1 else None
    usd = _total_usd(totals)
    return {
        "what": what,
        "what_args": args,
        "target": {"bank": bank, "since": iso_utc(since), "count": count},
        "totals": {c: str(a) for c, a in sorted(totals.items())},
        "amount": str(single[1]) if single else (str(usd) if usd is not None else ""),
        "currency": single[0] if single else "USD",
        "amount_usd": str(usd) if usd is not None else "",
    }


@ops_action(
    "retry_failed_payouts",
    roles={"pay_admin", "ops"},
    input=RetryFailedPayoutsInput,
    approvals=retry_failed_rule,
    approval_facts=retry_failed_facts,
    precheck=retry_failed_precheck,
    resource="batch",
)
def retry_failed_payouts(
    ctx: ActionContext,
    *,
    bank_profile_id: uuid.UUID | None = None,
    since: datetime | None = None,
) -> Outcome:
    """Put every failed, non-disputed payout (of a bank, since a time) back in
    the dispatcher's queue, as one action."""
    if bank_profile_id:
        bank_or_404(bank_profile_id)
    as_of = _requested_at(ctx)
    done = payout_services.requeue_failed(
        bank_profile_id=bank_profile_id, since=since, until=as_of
    )
    if not done.count:
        raise _nothing_to_retry()
    total_usd = _total_usd(done.totals, strict=True)
    ids = [str(i) for i in done.ids]
    ctx.emit(
        "payouts.payouts.retry_requested",
        {"payout_ids": ids, "bank_profile_id": _str(bank_profile_id)},
    )
    batch = {
        "count": done.count,
        "totals": {c: str(a) for c, a in sorted(done.totals.items())},
        "total_usd": str(total_usd),
        "payout_ids": ids,
    }
    return Outcome(
        target={"bank_profile_id": _str(bank_profile_id), "since": iso_utc(since)},
        resource={"batch": batch},
        details={
            **batch,
            "as_of": iso_utc(as_of),
            "status_before": PayoutStatus.FAILED,
        },
    )


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None
