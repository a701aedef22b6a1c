"""reroute_payouts: move pending payouts of a currency from one bank to
another (oldest first), unless a control forbids it (``guards``).

Without a currency (a step in SIRA's seed shape: "move ``count`` payouts from
bank A to bank B") it moves the oldest pending payouts of the source in any
currency the destination serves. Its answer says how many of ``count`` it
moved and, when not all, why (``shortfall``), so a plan's progress can.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from controls.services._common import bank_or_404
from controls.services.rails.guards import (
    chunks,
    must_differ,
    refuse_if_blocked,
)
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action
from molam_ops.errors import OpsError
from molam_ops.identity import SYSTEM_ROLE
from molam_ops.lib.fields import AsciiDecimalField, AsciiIntegerField, UUIDStringField
from payouts.choices import PayoutStatus
from payouts.models import Payout

MAX_REROUTE = 100_000


class ReroutePayoutsInput(serializers.Serializer):
    target_fields = ("from_bank_id", "to_bank_id", "currency")
    from_bank_id = UUIDStringField()
    to_bank_id = UUIDStringField()
    # absent: any currency the destination serves
    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, required=False)
    count = AsciiIntegerField(min_value=1, max_value=MAX_REROUTE)
    # a cap on the value moved: payouts are taken oldest first while it holds
    amount = AsciiDecimalField(
        max_digits=20,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
    )
    # the amount band of the payout class the planner priced (its steps carry
    # it), so a step moves the payouts the plan costed, not merely the oldest
    amount_min = AsciiDecimalField(
        max_digits=20, decimal_places=2, required=False, allow_null=True
    )
    amount_max = AsciiDecimalField(
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
        must_differ(attrs, "from_bank_id", "to_bank_id")
        if attrs.get("amount") is not None and not attrs.get("currency"):
            # a cap adding up several currencies would mean nothing
            raise serializers.ValidationError(
                {"amount": [_("A cap needs a currency.")]}
            )
        return attrs


def _reroute_candidates(
    *,
    source: uuid.UUID,
    currencies: list[str],
    count: int,
    cap: Decimal | None,
    payout_ids: list[uuid.UUID] | None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
) -> tuple[list[tuple[uuid.UUID, str, Decimal]], bool]:
    """The payouts to move, oldest first, and whether the cap left any out."""
    rows = Payout.objects.filter(
        bank_profile_id=source,
        currency__in=currencies,
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
    chosen: list[tuple[uuid.UUID, str, Decimal]] = []
    total = Decimal("0")
    capped = False
    ordered = rows.order_by("created_at", "id")
    for pk, row_currency, amount in ordered.values_list("id", "currency", "amount"):
        if len(chosen) == count:
            break
        if cap is not None and total + amount > cap:
            capped = True
            continue
        chosen.append((pk, row_currency, amount))
        total += amount
    return chosen, capped


def _shortfall(
    count: int, chosen: int, moved: int, capped: bool
) -> dict[str, Any] | None:
    """Why fewer than ``count`` moved: ``source_short`` (the source held
    fewer pending payouts the destination can take), ``amount_cap`` (the
    step's cap left some out) or ``changed_meanwhile`` (some were no longer
    pending at the source when moved: the dispatcher took them)."""
    if moved >= count:
        return None
    if moved < chosen:
        reason = "changed_meanwhile"
    elif capped:
        reason = "amount_cap"
    else:
        reason = "source_short"
    return {"missing": count - moved, "reason": reason}


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
    count: int,
    currency: str | None = None,
    amount: Decimal | None = None,
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    payout_ids: list[uuid.UUID] | None = None,
    reason: str = "",
) -> Outcome:
    """Move up to ``count`` pending, undisputed payouts of a currency (else
    of any the destination serves) from one bank to another (oldest first,
    their value capped by ``amount``)."""
    source = bank_or_404(from_bank_id, field="from_bank_id")
    destination = bank_or_404(to_bank_id, field="to_bank_id")
    if currency is not None and currency not in (destination.currencies or []):
        raise OpsError(
            "currency_not_supported",
            _("The destination bank does not serve %(currency)s.")
            % {"currency": currency},
            status=409,
            fields={"currency": [_("Not served by the destination bank.")]},
        )
    refuse_if_blocked(source=source.id, destination=destination.id)
    chosen, capped = _reroute_candidates(
        source=source.id,
        currencies=[currency] if currency else list(destination.currencies or []),
        count=count,
        cap=amount,
        payout_ids=payout_ids,
        amount_min=amount_min,
        amount_max=amount_max,
    )
    now = timezone.now()
    ids = [pk for pk, _currency, _amount in chosen]
    for chunk in chunks(ids):
        # conditional: only payouts still pending and undisputed at the source
        Payout.objects.filter(
            pk__in=chunk,
            bank_profile_id=source.id,
            status=PayoutStatus.PENDING,
            disputed=False,
        ).update(bank_profile_id=destination.id, updated_at=now)
    moved: list[uuid.UUID] = []
    for chunk in chunks(ids):
        moved += Payout.objects.filter(
            pk__in=chunk, bank_profile_id=destination.id
        ).values_list("id", flat=True)
    moved_set = set(moved)
    moved_ids = [str(pk) for pk in ids if pk in moved_set]
    amounts: dict[str, Decimal] = {}
    for pk, row_currency, value in chosen:
        if pk in moved_set:
            amounts[row_currency] = amounts.get(row_currency, Decimal("0")) + value
    if currency is None and len(amounts) == 1:
        currency = next(iter(amounts))
    data = {
        "from_bank_id": str(source.id),
        "to_bank_id": str(destination.id),
        "currency": currency,
        "requested_count": count,
        "moved": len(moved_ids),
        # a total only where it adds up one currency; per currency always
        "amount": str(sum(amounts.values(), Decimal("0")))
        if len(amounts) <= 1
        else None,
        "amounts": {c: str(v) for c, v in sorted(amounts.items())},
        "payout_ids": moved_ids,
        "shortfall": _shortfall(count, len(chosen), len(moved_ids), capped),
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
