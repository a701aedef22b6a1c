"""reroute_payouts / transfer_funds: the levers SIRA plans pull on the rails.

Both are ops actions like any other (run by the kernel runner, audited,
idempotent); ``pay_admin`` may call them over HTTP and the plan executor calls
them as a ``system`` principal, one step at a time. A step's signatures were
gathered for its plan (``execute-plan`` consumes the plan's approval token),
so a system caller is never asked for them again.

Controls come first (DESIGN §8, §9): a global freeze stops both; a freeze or
pause of the bank that would receive payouts or funds stops them, and so does
a freeze of the bank they would leave (a freeze holds a bank's payouts where
they are). A pause of the source does not: moving exposure off a paused bank is
what a risk plan does. The refusal is 409 ``blocked_by_control``, which the plan
executor turns into a ``blocked`` step that resumes when the control lifts.

Every change is a conditional UPDATE inside the runner's transaction (STYLE
rule 7): a payout moves only while it is still pending and undisputed at its
source bank, and a debit only while the balance covers it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from rest_framework import serializers

from controls.keys import FREEZE_GLOBAL, freeze_bank_key, pause_bank_key
from controls.selectors import control_active_keys
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.actions.rules import signatures_for_usd
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE
from molam_ops.lib.fields import UUIDStringField
from payouts.choices import PayoutStatus
from payouts.models import BankProfile, Payout, TreasuryAccount
from payouts.rates import to_usd

BLOCKED_BY_CONTROL = "blocked_by_control"
MAX_REROUTE = 100_000
# SQLite allows 32,766 variables per statement; stay far below in every UPDATE
CHUNK = 500


# --- inputs -----------------------------------------------------------------


def _different(attrs: dict[str, Any], a: str, b: str) -> None:
    if attrs[a] == attrs[b]:
        raise serializers.ValidationError(
            {b: [_("Must differ from %(other)s.") % {"other": a}]}
        )


class ReroutePayoutsInput(serializers.Serializer):
    target_fields = ("from_bank_id", "to_bank_id", "currency")
    from_bank_id = UUIDStringField()
    to_bank_id = UUIDStringField()
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    count = serializers.IntegerField(min_value=1, max_value=MAX_REROUTE)
    # a cap on the value moved: payouts are taken oldest first while it holds
    amount = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
    )
    # the amount band of the payout class the planner priced (its steps carry
    # it), so a step moves the payouts the plan costed, not merely the oldest
    amount_min = serializers.DecimalField(
        max_digits=20, decimal_places=2, required=False, allow_null=True
    )
    amount_max = serializers.DecimalField(
        max_digits=20, decimal_places=2, required=False, allow_null=True
    )
    # only these payouts (a rollback moves back exactly what a step moved)
    payout_ids = serializers.ListField(
        child=UUIDStringField(),
        required=False,
        allow_empty=False,
        max_length=MAX_REROUTE,
    )
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _different(attrs, "from_bank_id", "to_bank_id")
        return attrs


class TransferFundsInput(serializers.Serializer):
    target_fields = ("from_account_id", "to_account_id")
    from_account_id = UUIDStringField()
    to_account_id = UUIDStringField()
    amount = serializers.DecimalField(
        max_digits=20, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _different(attrs, "from_account_id", "to_account_id")
        return attrs


# --- shared checks ------------------------------------------------------------


def _bank(field: str, bank_id: uuid.UUID) -> BankProfile:
    bank = BankProfile.objects.filter(pk=bank_id).first()
    if bank is None:
        raise OpsError(
            "bank_not_found",
            _("No bank profile with this id."),
            status=404,
            fields={field: [_("Unknown bank.")]},
        )
    return bank


def _account(field: str, account_id: uuid.UUID) -> TreasuryAccount:
    account = TreasuryAccount.objects.filter(pk=account_id).first()
    if account is None:
        raise OpsError(
            "account_not_found",
            _("No treasury account with this id."),
            status=404,
            fields={field: [_("Unknown account.")]},
        )
    return account


def blocking_controls(*, source: uuid.UUID, destination: uuid.UUID) -> list[str]:
    """The controls in force that forbid moving payouts or funds from bank
    ``source`` to bank ``destination`` (empty: nothing forbids it)."""
    active = control_active_keys()
    wanted = [
        FREEZE_GLOBAL,
        freeze_bank_key(source),
        freeze_bank_key(destination),
        pause_bank_key(destination),
    ]
    return [key for key in wanted if key in active]


def _refuse_if_blocked(*, source: uuid.UUID, destination: uuid.UUID) -> None:
    keys = blocking_controls(source=source, destination=destination)
    if keys:
        raise OpsError(
            BLOCKED_BY_CONTROL,
            _("A freeze or pause forbids this now (%(controls)s).")
            % {"controls": ", ".join(keys)},
            status=409,
            fields={"controls": keys},
        )


def _chunks(ids: list[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


# --- reroute_payouts ------------------------------------------------------------


def _reroute_candidates(
    *,
    source: uuid.UUID,
    currency: str,
    count: int,
    cap: Decimal | None,
    payout_ids: list[uuid.UUID] | None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
) -> list[tuple[uuid.UUID, Decimal]]:
    rows = Payout.objects.filter(
        bank_profile_id=source,
        currency=currency,
        status=PayoutStatus.PENDING,
        disputed=False,
    )
    if amount_min is not None:
        rows = rows.filter(amount__gte=amount_min)
    if amount_max is not None:
        rows = rows.filter(amount__lte=amount_max)
    if payout_ids is not None:
        rows = rows.filter(pk__in=payout_ids)
    if connection.vendor == "postgresql":
        # Race: the dispatcher claiming these payouts while we move them. We
        # lock what we take and skip what it holds (it is sending those); on
        # SQLite the IMMEDIATE transaction already runs one writer at a time.
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    chosen: list[tuple[uuid.UUID, Decimal]] = []
    total = Decimal("0")
    for pk, amount in rows.order_by("created_at", "id").values_list("id", "amount"):
        if len(chosen) == count:
            break
        if cap is not None and total + amount > cap:
            continue
        chosen.append((pk, amount))
        total += amount
    return chosen


@ops_action(
    "reroute_payouts",
    roles={"pay_admin", SYSTEM_ROLE},
    input=ReroutePayoutsInput,
    resource="reroute",
)
def reroute_payouts(
    ctx: ActionContext,
    *,
    from_bank_id: uuid.UUID,
    to_bank_id: uuid.UUID,
    currency: str,
    count: int,
    amount: Decimal | None = None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    payout_ids: list[uuid.UUID] | None = None,
    reason: str = "",
) -> Outcome:
    """Move up to ``count`` pending, undisputed payouts of a currency from one
    bank to another (oldest first, their value capped by ``amount``)."""
    source = _bank("from_bank_id", from_bank_id)
    destination = _bank("to_bank_id", to_bank_id)
    if currency not in (destination.currencies or []):
        raise OpsError(
            "currency_not_supported",
            _("The destination bank does not serve %(currency)s.")
            % {"currency": currency},
            status=409,
            fields={"currency": [_("Not served by the destination bank.")]},
        )
    _refuse_if_blocked(source=source.id, destination=destination.id)
    chosen = _reroute_candidates(
        source=source.id,
        currency=currency,
        count=count,
        cap=amount,
        payout_ids=payout_ids,
        amount_min=amount_min,
        amount_max=amount_max,
    )
    now = timezone.now()
    ids = [pk for pk, _amount in chosen]
    for chunk in _chunks(ids):
        # conditional: only payouts still pending and undisputed at the source
        Payout.objects.filter(
            pk__in=chunk,
            bank_profile_id=source.id,
            status=PayoutStatus.PENDING,
            disputed=False,
        ).update(bank_profile_id=destination.id, updated_at=now)
    moved: list[uuid.UUID] = []
    for chunk in _chunks(ids):
        moved += Payout.objects.filter(
            pk__in=chunk, bank_profile_id=destination.id
        ).values_list("id", flat=True)
    moved_set = set(moved)
    moved_ids = [str(pk) for pk in ids if pk in moved_set]
    total = sum((a for pk, a in chosen if pk in moved_set), Decimal("0"))
    data = {
        "from_bank_id": str(source.id),
        "to_bank_id": str(destination.id),
        "currency": currency,
        "requested_count": count,
        "moved": len(moved_ids),
        "amount": str(total),
        "payout_ids": moved_ids,
    }
    ctx.emit("payouts.payouts.rerouted", data)
    return Outcome(
        target={
            "from_bank_id": str(source.id),
            "to_bank_id": str(destination.id),
            "currency": currency,
        },
        resource={"reroute": data},
        details={**data, "reason": reason},
    )


# --- transfer_funds ---------------------------------------------------------------


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
    source = _account("from_account_id", from_account_id)
    destination = _account("to_account_id", to_account_id)
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
    _refuse_if_blocked(
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
