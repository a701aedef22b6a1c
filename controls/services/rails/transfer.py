"""transfer_funds: move money between two treasury accounts of one currency,
signed by amount for people, unless a control forbids it (``guards``)."""

from __future__ import annotations

import contextlib
import uuid
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from rest_framework import serializers

from controls.services.rails.guards import (
    account_or_404,
    must_differ,
    refuse_if_blocked,
)
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.actions.rules import signatures_for_usd
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE
from molam_ops.lib.fields import AsciiDecimalField, UUIDStringField
from payouts.models import TreasuryAccount
from payouts.rates import to_usd


class TransferFundsInput(serializers.Serializer):
    target_fields = ("from_account_id", "to_account_id")
    from_account_id = UUIDStringField()
    to_account_id = UUIDStringField()
    amount = AsciiDecimalField(
        max_digits=20, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        must_differ(attrs, "from_account_id", "to_account_id")
        return attrs


def transfer_rule(ctx: ActionContext, data: dict[str, Any]) -> int:
    """Signatures by the amount in USD (DESIGN §7) for people; none for the
    system (a plan step, signed at the plan level). Unknown accounts and
    currencies need none here: the precheck refuses them."""
    if ctx.principal.kind == "system":
        return 0
    account = TreasuryAccount.objects.filter(pk=data["from_account_id"]).first()
    if account is None:
        return 0
    try:
        return signatures_for_usd(to_usd(data["amount"], account.currency))
    except OpsError:
        return 0


def _accounts(
    from_account_id: uuid.UUID, to_account_id: uuid.UUID
) -> tuple[TreasuryAccount, TreasuryAccount]:
    source = account_or_404("from_account_id", from_account_id)
    destination = account_or_404("to_account_id", to_account_id)
    if source.currency != destination.currency:
        raise OpsError(
            "currency_mismatch",
            _("Both accounts must hold the same currency (%(a)s, %(b)s).")
            % {"a": source.currency, "b": destination.currency},
            status=422,
            fields={"to_account_id": [_("Another currency than the source.")]},
        )
    return source, destination


def transfer_precheck(
    ctx: ActionContext,
    *,
    from_account_id: uuid.UUID,
    to_account_id: uuid.UUID,
    amount: Decimal,
    **_: Any,
) -> None:
    """Refuse a transfer that cannot happen before anyone is asked to sign."""
    source, _destination = _accounts(from_account_id, to_account_id)
    if ctx.principal.kind != "system":  # the system is never asked (transfer_rule)
        to_usd(amount, source.currency)  # 422 unknown_currency


def transfer_facts(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    """What a transfer's approval summary names: both accounts, the amount."""
    source, destination = _accounts(data["from_account_id"], data["to_account_id"])
    usd = None
    with contextlib.suppress(OpsError):
        usd = to_usd(data["amount"], source.currency)
    return {
        "what": gettext_noop("transfer funds from %(source)s to %(destination)s"),
        "what_args": {"source": str(source), "destination": str(destination)},
        "target": {
            "from_account_id": str(source.pk),
            "to_account_id": str(destination.pk),
            "from": str(source),
            "to": str(destination),
        },
        "amount": str(data["amount"]),
        "currency": source.currency,
        "amount_usd": str(usd) if usd is not None else "",
    }


def _debit(account_id: uuid.UUID, amount: Decimal) -> bool:
    # conditional: never below zero, whatever committed since we read it
    return bool(
        TreasuryAccount.objects.filter(pk=account_id, balance__gte=amount).update(
            balance=F("balance") - amount, updated_at=timezone.now()
        )
    )


def _credit(account_id: uuid.UUID, amount: Decimal) -> None:
    TreasuryAccount.objects.filter(pk=account_id).update(
        balance=F("balance") + amount, updated_at=timezone.now()
    )


@ops_action(
    "transfer_funds",
    roles={"pay_admin", SYSTEM_ROLE},
    input=TransferFundsInput,
    approvals=transfer_rule,
    approval_facts=transfer_facts,
    precheck=transfer_precheck,
    resource="transfer",
)
def transfer_funds(
    ctx: ActionContext,
    *,
    from_account_id: uuid.UUID,
    to_account_id: uuid.UUID,
    amount: Decimal,
    reason: str = "",
) -> Outcome:
    """Move money between two treasury accounts of the same currency."""
    source, destination = _accounts(from_account_id, to_account_id)
    refuse_if_blocked(
        source=source.bank_profile_id, destination=destination.bank_profile_id
    )
    # Race: two opposite transfers at once. Rows are written in primary-key
    # order so PostgreSQL never sees the two lock each other's row first
    # (deadlock); a failed debit after the credit rolls the credit back.
    debited = True
    for account in sorted((source, destination), key=lambda a: str(a.pk)):
        if account is source:
            debited = _debit(source.pk, amount)
            if not debited:
                break
        else:
            _credit(destination.pk, amount)
    if not debited:
        raise OpsError(
            "insufficient_funds",
            _("The source account's balance does not cover this amount."),
            status=409,
            fields={"amount": [_("More than the balance.")]},
        )
    source.refresh_from_db(fields=["balance"])
    destination.refresh_from_db(fields=["balance"])
    data = {
        "from_account_id": str(source.pk),
        "to_account_id": str(destination.pk),
        "amount": str(amount),
        "currency": source.currency,
        "from_balance": str(source.balance),
        "to_balance": str(destination.balance),
    }
    ctx.emit("treasury.funds.transferred", data)
    return Outcome(
        target={
            "from_account_id": str(source.pk),
            "to_account_id": str(destination.pk),
        },
        resource={"transfer": data},
        details={**data, "reason": reason},
    )
