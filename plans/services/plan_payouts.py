"""Which payouts a plan's reroute steps move, chosen when the plan is built.

Each ``reroute_payouts`` step takes pending, undisputed payouts of its bank
and currency by the rule the reroute action itself applies
(controls/services/rails/reroute.py): oldest first, inside the step's amount
band, skipping one that would take the value past the step's ``amount`` cap,
until ``count``; never a payout an earlier step of the plan took. The chosen
payouts are stored as ``PlanPayout`` rows, which execution then moves,
exactly those still pending (plans/execution/steps.py passes them as the
action's ``payout_ids``).

Steps leaving the same (bank, currency) read one list of pending payouts;
offering each payout, oldest first, to those steps in their order chooses
what running the steps one after the other would, in one pass. On
PostgreSQL that pass runs inside the database (``molam_choose_plan_payouts``,
plans migration 0007): a plan moving 430,000 of 1,000,000 pending payouts
chose them in Python in 7.8 s (reading them out, choosing, copying the
choice back in), in the database in about 2 s (benchmarks/README.md, the
planner end to end). Elsewhere the same pass runs here; both are tested to
choose the same payouts (tests/plans/test_plan_payouts_choice.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from molam_ops.lib.coerce import decimal_or_none, uuid_or_none
from payouts.choices import PayoutStatus
from payouts.models import Payout
from plans.models import Plan, PlanPayout

REROUTE = "reroute_payouts"


@dataclass(frozen=True)
class Chosen:
    """What one step will move: how many payouts, worth how much."""

    payouts: int
    amount: Decimal


@dataclass(frozen=True)
class _Step:
    index: int
    to_bank_id: uuid.UUID
    count: int
    low: Decimal | None
    high: Decimal | None
    cap: Decimal | None

    def accepts(self, amount: Decimal, taken: int, total: Decimal) -> bool:
        if taken >= self.count:
            return False
        if self.low is not None and amount < self.low:
            return False
        if self.high is not None and amount > self.high:
            return False
        return self.cap is None or total + amount <= self.cap


Source = tuple[uuid.UUID, str]  # (bank id, currency) the payouts leave


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else None


def payouts_url(plan_id: uuid.UUID | str) -> str:
    return f"/api/ops/plans/{plan_id}/payouts"


def _parsed(index: int, step: dict[str, Any]) -> tuple[Source, _Step] | None:
    """The source and rule of a reroute step that names its payouts this way
    (a count, both banks, a currency); None for any other step (execution
    then applies the action's own rule, as before)."""
    if step.get("action") != REROUTE or _count(step.get("count")) is None:
        return None
    source, destination = (
        uuid_or_none(step.get("from_bank_id")),
        uuid_or_none(step.get("to_bank_id")),
    )
    currency = step.get("currency")
    if source is None or destination is None or not isinstance(currency, str):
        return None
    rule = _Step(
        index=index,
        to_bank_id=destination,
        count=step["count"],
        low=decimal_or_none(step.get("amount_min")),
        high=decimal_or_none(step.get("amount_max")),
        cap=decimal_or_none(step.get("amount")),
    )
    return (source, currency), rule


def _groups(steps: list[dict[str, Any]]) -> dict[Source, list[_Step]]:
    """The reroute steps that choose their payouts, by the source they leave,
    in step order."""
    groups: dict[Source, list[_Step]] = {}
    for index, step in enumerate(steps):
        parsed = _parsed(index, step)
        if parsed is not None:
            groups.setdefault(parsed[0], []).append(parsed[1])
    return groups


def _pending(source: Source) -> Iterable[tuple[uuid.UUID, Decimal]]:
    bank_id, currency = source
    return (
        Payout.objects.filter(
            bank_profile_id=bank_id,
            currency=currency,
            status=PayoutStatus.PENDING,
            disputed=False,
        )
        .order_by("created_at", "id")
        .values_list("id", "amount")
    )


def choose_here(
    plan_id: uuid.UUID, source: Source, rules: list[_Step]
) -> dict[int, Chosen]:
    """The pass in Python: read the source's pending payouts, offer each to
    the steps in order, store what they took."""
    taken: dict[int, list[tuple[uuid.UUID, Decimal]]] = {r.index: [] for r in rules}
    totals = {r.index: Decimal(0) for r in rules}
    open_steps = len(rules)
    for pk, amount in _pending(source):
        if not open_steps:
            break
        for rule in rules:
            if rule.accepts(amount, len(taken[rule.index]), totals[rule.index]):
                taken[rule.index].append((pk, amount))
                totals[rule.index] += amount
                if len(taken[rule.index]) == rule.count:
                    open_steps -= 1
                break
    bank_id, currency = source
    PlanPayout.objects.bulk_create(
        (
            PlanPayout(
                plan_id=plan_id,
                step_index=rule.index,
                payout_id=pk,
                from_bank_id=bank_id,
                to_bank_id=rule.to_bank_id,
                currency=currency,
                amount=amount,
            )
            for rule in rules
            for pk, amount in taken[rule.index]
        ),
        batch_size=2000,
    )
    return {i: Chosen(len(rows), totals[i]) for i, rows in taken.items()}


def choose_in_database(
    plan_id: uuid.UUID, source: Source, rules: list[_Step]
) -> dict[int, Chosen]:
    """The same pass inside PostgreSQL (``molam_choose_plan_payouts``): the
    payouts never leave the database."""
    bank_id, currency = source
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM molam_choose_plan_payouts("
            "%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                plan_id,
                bank_id,
                currency,
                [r.index for r in rules],
                [r.to_bank_id for r in rules],
                [r.count for r in rules],
                [r.low for r in rules],
                [r.high for r in rules],
                [r.cap for r in rules],
            ],
        )
        return {index: Chosen(n, Decimal(amount)) for index, n, amount in cursor}


def select(plan_id: uuid.UUID, steps: list[dict[str, Any]]) -> dict[int, Chosen]:
    """Choose and store each reroute step's payouts (replacing what an
    earlier, interrupted run of the same generation stored): what each step
    index will move."""
    run = choose_in_database if connection.vendor == "postgresql" else choose_here
    chosen: dict[int, Chosen] = {}
    with transaction.atomic():
        PlanPayout.objects.filter(plan_id=plan_id).delete()
        for source, rules in _groups(steps).items():
            chosen.update(run(plan_id, source, rules))
    return chosen


def selected_ids(plan: Plan, index: int) -> list[str] | None:
    """The payouts chosen for step ``index`` at build time, or None when the
    plan chose none for it (a plan built before this, or a step without a
    count)."""
    expected = ((plan.details or {}).get("selection") or {}).get(str(index))
    if expected is None:
        return None
    return [
        str(pk)
        for pk in PlanPayout.objects.filter(plan_id=plan.id, step_index=index)
        .order_by("id")
        .values_list("payout_id", flat=True)
    ]
